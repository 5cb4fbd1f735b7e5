"""The stacks pages in headless Chromium against a server managing the real 3-node lab.

An operator writes a stack in the editor (errors shown with file:line as they type), previews
the diff, deploys it and watches the progress, updates it, rolls it back from the history,
and adopts a project that docker-compose started; a viewer sees the same pages without any
action. Screenshots go to ``artifacts/screenshots/stacks-*.png``.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import uuid
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Browser, Page, expect

from fleetdeck.client.stack_files import file_bytes, stack_file
from fleetdeck.errors import FleetdeckError
from fleetdeck.lab import Lab
from fleetdeck.wire.auth import Role
from tests.conftest import client_for
from tests.e2e.ui_helpers import goto, login, retrying, shot
from tests.integration.docker_cli import docker

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from fleetdeck.lab import LabRecord

pytestmark = [pytest.mark.lab, pytest.mark.e2e]

TAG = uuid.uuid4().hex[:6]
STACK = f"ui{TAG}"
VIEWER, VIEWER_PASSWORD = f"stackviewer-{TAG}", "viewer-password-1"
DEPLOY_TIMEOUT_MS = 180_000


@pytest.fixture(scope="module")
def lab(request: pytest.FixtureRequest) -> Iterator[LabRecord]:
    """The ``fleet3`` lab (or a running lab named by FLEETDECK_E2E_LAB) with a viewer."""
    existing = os.environ.get("FLEETDECK_E2E_LAB")
    record = Lab(existing).require_record() if existing else request.getfixturevalue("fleet3")
    with client_for(record) as client:
        client.create_user(VIEWER, VIEWER_PASSWORD, Role.viewer)
    yield record
    with client_for(record) as client:
        for name in (STACK, f"dc{TAG}", f"bin{TAG}"):
            with contextlib.suppress(FleetdeckError):  # gone already when the test passed
                client.remove_stack(name)
        client.delete_user(VIEWER)


#: Healthy unless the stack's volume holds a file named after the image's version: writing
#: /flag/v2 makes web:2 fail its healthcheck (saying why) while web:1 stays healthy.
HEALTH = (
    "    volumes: [flag:/flag]\n"
    "    healthcheck:\n"
    "      test: [CMD-SHELL,\n"
    "             'test ! -e /flag/v$$WEB_VERSION || { cat /flag/v$$WEB_VERSION; exit 5; }']\n"
    "      interval: 1s\n      timeout: 2s\n      retries: 1\n"
    "volumes:\n  flag: {}\n"
)


def _file(image: str, *, health: bool = False) -> str:
    text = f"services:\n  web:\n    image: {image}\n    deploy:\n      replicas: 2\n"
    return text + (HEALTH if health else "")


def _login(browser: Browser, lab: LabRecord, user: str, password: str) -> Page:
    assert lab.server is not None
    url = lab.server.url
    return retrying(lambda: login(browser, url, user, password))


def _deploy_and_wait(page: Page) -> None:
    page.get_by_role("button", name="Deploy").click()
    result = page.locator("[data-deploy-result]")
    expect(result).not_to_have_attribute("data-result", "running", timeout=DEPLOY_TIMEOUT_MS)
    expect(result).to_have_attribute("data-result", "ok")


def test_write_validate_diff_deploy_update_and_roll_back(browser: Browser, lab: LabRecord) -> None:
    assert lab.server is not None
    page = _login(browser, lab, "admin", lab.server.admin_password)
    url = page.url.rsplit("/", 1)[0]
    goto(page, url + "/stacks")
    page.get_by_role("link", name="New stack").click()
    page.get_by_label("Name").fill(STACK)
    page.locator("[data-stack-env]").select_option("node1")
    editor = page.locator("[data-editor]")
    # Validation as you type: an unknown key is named with its file and line.
    first = _file(lab.images["web"], health=True)
    editor.fill(first.replace("    deploy:", "    deploy:\n      replica: 2"))
    errors = page.locator("[data-validation]")
    expect(errors).to_have_attribute("data-state", "bad")
    expect(errors).to_contain_text("compose.yaml:")
    expect(errors).to_contain_text("replica")
    expect(page.locator("[data-gutter] .bad")).to_have_count(1)
    shot(page, "stacks-editor-error")
    editor.fill(first)
    expect(errors).to_have_attribute("data-state", "ok")
    expect(errors).to_contain_text("1 service: web")

    page.get_by_role("button", name="Preview diff").click()
    expect(page.locator("[data-change=web] [data-action-badge]")).to_have_text("create")
    _deploy_and_wait(page)
    expect(page.locator("[data-progress=web]")).to_be_visible()
    shot(page, "stacks-deployed")
    page.wait_for_url(f"**/stacks/{STACK}")
    expect(page.locator("[data-stack-page]")).to_have_attribute("data-mode", "managed")

    # Update to web v2: the diff says why, the deploy rolls it out.
    page.locator("[data-editor]").fill(_file(lab.images["web_v2"], health=True))
    expect(errors).to_have_attribute("data-state", "ok")
    page.get_by_role("button", name="Preview diff").click()
    expect(page.locator("[data-change=web] [data-action-badge]")).to_have_text("recreate")
    expect(page.locator("[data-change=web]")).to_contain_text("image")
    _deploy_and_wait(page)
    expect(page.locator("[data-deploy-result]")).to_contain_text("revision 2")
    shot(page, "stacks-updated")

    # History: roll back to revision 1 from the list.
    page.get_by_role("tab", name="History").click()
    expect(page.locator("[data-revision-row]")).to_have_count(2)
    page.locator("[data-rollback='1']").click()
    page.locator("[data-confirm-ok]").click()
    result = page.locator("[data-deploy-result]")
    expect(result).to_contain_text("Roll back")
    expect(result).to_have_attribute("data-result", "ok", timeout=DEPLOY_TIMEOUT_MS)
    expect(result).to_contain_text("rollback to revision 1")
    expect(page.locator("[data-revision-row]")).to_have_count(3)
    shot(page, "stacks-history")
    log = page.locator("[data-deploy-log]")
    # A rolling update names each replica new or old: one name can be both, one after the other.
    expect(log).to_contain_text("(replaces ")
    expect(log).to_contain_text("stopped old ")

    # A rollback that fails its health gate is undone: why (the healthcheck's output), and
    # "rolled back" said once, not again by the page.
    node = lab.nodes[0]
    running = docker(node, "ps", "-q", "--filter", f"label=com.docker.compose.project={STACK}")
    docker(node, "exec", running.split()[0], "sh", "-c", "echo v2 is switched off > /flag/v2")
    page.locator("[data-rollback='2']").click()
    page.locator("[data-confirm-ok]").click()
    expect(result).to_have_attribute("data-result", "failed", timeout=DEPLOY_TIMEOUT_MS)
    expect(result).to_have_attribute("data-rolled-back", "true")
    expect(result).to_contain_text("failed its healthcheck (exit 5: v2 is switched off)")
    text = result.text_content() or ""
    assert text.count("rolled back") == 1, text
    expect(log).to_contain_text("health failed: new ")
    expect(page.locator("[data-revision-row]")).to_have_count(4)
    expect(page.locator("[data-revision-row='4']")).to_contain_text("rolled_back")
    shot(page, "stacks-rollback-undone")
    page.get_by_role("tab", name="Services").click()
    expect(page.locator("[data-service=web]")).to_contain_text("2/2")
    expect(page.locator("[data-service=web]")).to_contain_text("fleetdeck/web")
    images = docker(node, "ps", "--filter", f"label=com.docker.compose.project={STACK}",
                    "--format", "{{.Image}}").split()  # fmt: skip
    assert len(images) == 2 and all(":2" not in i for i in images), images

    # A viewer sees the stack and its history, and no action at all.
    viewer = _login(browser, lab, VIEWER, VIEWER_PASSWORD)
    goto(viewer, f"{url}/stacks/{STACK}")
    expect(viewer.locator("[data-validation]")).to_have_attribute("data-state", "ok")
    expect(viewer.locator("[data-editor]")).to_have_attribute("readonly", "")
    assert viewer.locator("[data-stack-deploy], [data-stack-remove]").count() == 0
    viewer.get_by_role("tab", name="History").click()
    expect(viewer.locator("[data-revision-row]")).to_have_count(4)
    assert viewer.locator("[data-rollback]").count() == 0
    shot(viewer, "stacks-viewer")

    # Remove, with confirmation.
    page.get_by_role("button", name="Remove").click()
    page.locator("[data-confirm-ok]").click()
    page.wait_for_url("**/stacks", timeout=DEPLOY_TIMEOUT_MS)  # stops its containers first
    expect(page.locator(f"[data-stack={STACK}]")).to_have_count(0)
    docker(node, "volume", "rm", f"{STACK}_flag")  # a stack's removal keeps named volumes


def test_adopt_a_docker_compose_project_from_the_list(
    browser: Browser, lab: LabRecord, tmp_path: Path
) -> None:
    project, node = f"dc{TAG}", lab.nodes[1]
    path = tmp_path / "docker-compose.yml"
    text = _file(lab.images["web"])
    path.write_text(text)
    compose = ["docker-compose", "-p", project, "-f", str(path)]
    run_env = {**os.environ, "DOCKER_HOST": node.docker_host}
    subprocess.run([*compose, "up", "-d"], env=run_env, check=True, capture_output=True)
    try:
        assert lab.server is not None
        page = _login(browser, lab, "admin", lab.server.admin_password)
        url = page.url.rsplit("/", 1)[0]
        goto(page, url + "/stacks")
        row = page.locator(f"[data-stack={project}]")
        expect(row).to_have_attribute("data-managed", "false", timeout=30_000)
        expect(row).to_contain_text("discovered")
        shot(page, "stacks-list")
        row.get_by_role("link", name="Adopt…").click()
        expect(page.locator("[data-stack-page]")).to_have_attribute("data-mode", "adopt")
        expect(page.locator("[data-adopt-notice]")).to_contain_text("docker compose 1.29.2")
        page.locator("[data-editor]").fill(text)
        expect(page.locator("[data-validation]")).to_have_attribute("data-state", "ok")
        shot(page, "stacks-adopt")
        page.get_by_role("button", name="Adopt").click()
        page.locator("[data-confirm-ok]").click()
        expect(page.locator("[data-stack-page]")).to_have_attribute("data-mode", "managed")
        page.get_by_role("button", name="Preview diff").click()
        expect(page.locator("[data-change=web]")).to_contain_text("adopted, config hash unknown")
    finally:
        subprocess.run([*compose, "down", "-t", "1"], env=run_env, check=False, capture_output=True)


def test_a_binary_file_is_shown_read_only_and_kept_when_saved(
    browser: Browser, lab: LabRecord
) -> None:
    assert lab.server is not None
    name, blob = f"bin{TAG}", bytes(range(256))
    compose = _file(lab.images["web"])
    with client_for(lab) as client:
        files = [stack_file("compose.yaml", compose.encode()), stack_file("blob.bin", blob)]
        client.save_stack(name, "node1", files)
    page = _login(browser, lab, "admin", lab.server.admin_password)
    goto(page, page.url.rsplit("/", 1)[0] + f"/stacks/{name}")
    tab = page.locator("[data-file='blob.bin']")
    expect(tab).to_contain_text("binary, 256 bytes")
    tab.click()
    expect(page.locator("[data-binary-note]")).to_contain_text("binary, 256 bytes")
    expect(page.locator("[data-editor]")).to_have_attribute("readonly", "")
    shot(page, "stacks-binary-file")
    page.locator("[data-file='compose.yaml']").click()
    page.locator("[data-editor]").fill(compose.replace("replicas: 2", "replicas: 1"))
    expect(page.locator("[data-validation]")).to_have_attribute("data-state", "ok")
    page.locator("[data-stack-save]").click()
    expect(page.locator(".toast.ok")).to_contain_text(f"Saved {name}")
    with client_for(lab) as client:
        saved = {f["name"]: file_bytes(f) for f in client.get_stack(name)["files"]}
        client.remove_stack(name)
    assert saved == {"compose.yaml": compose.replace("replicas: 2", "replicas: 1").encode(),
                     "blob.bin": blob}  # fmt: skip
