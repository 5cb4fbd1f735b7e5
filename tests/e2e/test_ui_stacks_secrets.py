"""A new stack that needs a secret, from an empty stacks page to running, only through the UI.

Issue #12: the secret variable is set on the new-stack page before the first save (the
editor's validation first says it is missing and where to set it, then counts it), the
stack is saved and deployed, its service runs with the secret's file, and the editor of the
saved stack shows no false "not set" error. Screenshots: ``artifacts/screenshots/stacks-secret-*``.
"""

from __future__ import annotations

import contextlib
import uuid
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Browser, expect

from fleetdeck.errors import FleetdeckError
from tests.conftest import client_for
from tests.e2e.ui_helpers import goto, login, retrying, shot
from tests.integration.docker_cli import docker

if TYPE_CHECKING:
    from collections.abc import Iterator

    from fleetdeck.lab import LabRecord

pytestmark = [pytest.mark.lab, pytest.mark.e2e]

STACK = f"sec{uuid.uuid4().hex[:6]}"
SECRET_VALUE = f"key-{uuid.uuid4().hex}"
DEPLOY_TIMEOUT_MS = 180_000


@pytest.fixture(scope="module")
def lab(fleet3: LabRecord) -> Iterator[LabRecord]:
    """The shared ``fleet3`` lab; the stack is removed afterwards if the test left it."""
    yield fleet3
    with client_for(fleet3) as client, contextlib.suppress(FleetdeckError):
        client.remove_stack(STACK)


def test_a_new_stack_with_a_secret_is_set_saved_deployed_and_runs(
    browser: Browser, lab: LabRecord
) -> None:
    assert lab.server is not None
    server = lab.server
    page = retrying(lambda: login(browser, server.url, "admin", server.admin_password))
    goto(page, server.url + "/stacks")
    expect(page.locator(f"[data-stack={STACK}]")).to_have_count(0)
    page.get_by_role("link", name="New stack").click()
    page.get_by_label("Name").fill(STACK)
    page.locator("[data-stack-env]").select_option("node1")
    compose = (
        f"services:\n  web:\n    image: {lab.images['web']}\n    secrets: [api_key]\n"
        "secrets:\n  api_key:\n    environment: API_KEY\n"
    )
    page.locator("[data-editor]").fill(compose)
    validation = page.locator("[data-validation]")
    expect(validation).to_have_attribute("data-state", "bad")
    expect(validation).to_contain_text("API_KEY which is not set")
    expect(validation.locator("[data-error-hint]")).to_contain_text("Variables tab")
    shot(page, "stacks-secret-missing")

    # The secret, before the first save: the Variables tab takes it for the named stack.
    page.get_by_role("tab", name="Variables").click()
    form = page.locator("[data-variable-form]")
    form.get_by_label("Key").fill("API_KEY")
    form.get_by_label("Value").fill(SECRET_VALUE)
    form.get_by_label("secret").check()
    form.get_by_role("button", name="Set").click()
    expect(page.locator("[data-variable=API_KEY]")).to_contain_text("secret, write-only")
    assert SECRET_VALUE not in page.content()
    shot(page, "stacks-secret-set")
    page.get_by_role("tab", name="Compose file").click()
    expect(validation).to_have_attribute("data-state", "ok")
    expect(validation).to_contain_text("1 service: web")

    page.locator("[data-stack-save]").click()
    expect(page.locator(".toast.ok").last).to_contain_text(f"Saved {STACK}")
    page.wait_for_url(f"**/stacks/{STACK}")
    page.get_by_role("button", name="Deploy").click()
    result = page.locator("[data-deploy-result]")
    expect(result).not_to_have_attribute("data-result", "running", timeout=DEPLOY_TIMEOUT_MS)
    expect(result).to_have_attribute("data-result", "ok")
    page.get_by_role("tab", name="Services").click()
    expect(page.locator("[data-service=web]")).to_contain_text("1/1")
    shot(page, "stacks-secret-running")

    # Opened again, the saved stack's editor validates with its stored secret: no false error.
    goto(page, f"{server.url}/stacks/{STACK}")
    expect(page.locator("[data-validation]")).to_have_attribute("data-state", "ok")
    expect(page.locator("[data-stack-page]")).to_have_attribute("data-mode", "managed")
    node = lab.nodes[0]
    name = docker(node, "ps", "--filter", f"label=com.docker.compose.project={STACK}",
                  "--format", "{{.Names}}").split()[0]  # fmt: skip
    assert docker(node, "exec", name, "cat", "/run/secrets/api_key") == SECRET_VALUE
    with client_for(lab) as client:
        client.remove_stack(STACK)
