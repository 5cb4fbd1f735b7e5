"""A container's page shows its configuration (a secret masked), and Duplicate makes a copy.

On ``fleet3`` (or the running lab named by ``FLEETDECK_E2E_LAB``): a container with a token
in its environment, a named volume, a network, a published port and a restart policy runs on
node1. Its page lists all of it with the token masked (not in the page at all), a viewer gets
no Duplicate or Recreate, and an admin's Duplicate opens the Create form filled from it and
creates the copy. Screenshots go to ``artifacts/screenshots/container-config*.png``.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import TYPE_CHECKING, Any

import pytest
from playwright.sync_api import Browser, expect

from fleetdeck.wire.auth import Role
from tests.conftest import client_for
from tests.e2e.ui_helpers import goto, login, shot
from tests.integration.docker_cli import docker
from tests.integration.fleet_helpers import wait_for

if TYPE_CHECKING:
    from collections.abc import Iterator

    from fleetdeck.lab import LabRecord

pytestmark = [pytest.mark.lab, pytest.mark.e2e]

WIDE = {"width": 1366, "height": 900}
TAG = uuid.uuid4().hex[:6]
SECRET = f"tok-{TAG}-very-secret"
PASSWORD = "viewer-password-1"  # noqa: S105 - a test account's password


@pytest.fixture(scope="module")
def fleet(e2e_lab: LabRecord) -> LabRecord:
    """The lab the module drives (see tests/e2e/conftest.py)."""
    return e2e_lab


@pytest.fixture(scope="module")
def web(fleet: LabRecord) -> Iterator[str]:
    """``ENV/NODE/NAME`` of the configured container on node1 (removed after, with its copy)."""
    node = fleet.nodes[0]
    name, net, vol = f"cfg-{TAG}", f"cfgnet-{TAG}", f"cfgvol-{TAG}"
    docker(node, "network", "create", net)
    docker(node, "run", "-d", "--name", name, "-e", f"API_TOKEN={SECRET}", "-e", "COLOUR=blue",
           "-v", f"{vol}:/data", "--network", net, "-p", "80", "--restart", "always",
           "--label", "team=web", fleet.images["web"])  # fmt: skip
    with client_for(fleet) as client:
        wait_for(name, lambda: client.list_containers(name=name).total == 1)
        env = client.get_environment(node.name)
    yield f"{env.name}/{env.nodes[0].name}/{name}"
    for n in (name, f"{name}-copy"):
        docker(node, "rm", "-f", n, check=False)
    docker(node, "volume", "rm", vol, check=False)
    docker(node, "network", "rm", net, check=False)


def test_overview_masks_the_secret_and_duplicate_creates_the_copy(
    browser: Browser, fleet: LabRecord, web: str
) -> None:
    assert fleet.server is not None
    name = web.rsplit("/", 1)[-1]
    page = login(browser, fleet.server.url, "admin", fleet.server.admin_password, viewport=WIDE)
    goto(page, f"{fleet.server.url}/containers/{web}")
    env = page.locator("[data-config-env]")
    expect(env.get_by_role("row", name="COLOUR blue")).to_be_visible()
    expect(env.locator("tr[data-masked]")).to_have_count(1)
    expect(env.locator("tr[data-masked]")).to_contain_text("API_TOKEN")
    assert SECRET not in page.content()
    expect(page.locator("[data-config-mounts]")).to_contain_text(f"cfgvol-{TAG}")
    networks = page.locator("[data-config-networks]")
    expect(networks).to_contain_text(f"cfgnet-{TAG}")
    expect(networks).to_contain_text(".")  # an IPv4 address
    expect(page.locator("[data-config-restart]")).to_have_text("always")
    expect(page.locator("[data-config-command]")).to_contain_text("httpd")
    expect(page.locator("[data-config-ports]")).to_contain_text("→ 80/tcp")
    shot(page, "container-config")

    page.get_by_role("link", name="Duplicate…").click()
    form = page.locator("[data-create-form]")
    expect(form.get_by_label("Image", exact=True)).to_have_value(fleet.images["web"])
    expect(form.get_by_label("Name")).to_have_value(f"{name}-copy")
    # The container's own order, which the docker CLI does not keep for -e flags: any order.
    variables = form.get_by_label("Environment variables")
    expect(variables).to_have_value(re.compile("COLOUR=blue"))
    assert sorted(variables.input_value().splitlines()) == [f"API_TOKEN={SECRET}", "COLOUR=blue"]
    expect(form.get_by_label("Volumes")).to_have_value(f"cfgvol-{TAG}:/data")
    expect(form.get_by_label("Networks")).to_have_value(f"cfgnet-{TAG}")
    expect(form.get_by_label("Restart policy")).to_have_value("always")
    shot(page, "container-config-duplicate")
    form.get_by_role("button", name="Create and start").click()
    expect(page.get_by_role("heading", name=f"Containers / {name}-copy")).to_be_visible(
        timeout=60000
    )
    copy = json.loads(docker(fleet.nodes[0], "inspect", f"{name}-copy"))[0]
    assert f"API_TOKEN={SECRET}" in copy["Config"]["Env"]
    assert copy["State"]["Status"] == "running"
    assert [m["Name"] for m in copy["Mounts"]] == [f"cfgvol-{TAG}"]
    assert copy["HostConfig"]["RestartPolicy"]["Name"] == "always"
    assert copy["Config"]["Labels"]["team"] == "web"

    # Recreate the copy from its page: the page comes back with the new container's id.
    expect(page.locator("[data-overview]")).to_contain_text(copy["Id"][:12])
    page.locator("[data-recreate='']").click()
    page.locator("[data-confirm-ok]").click()

    def recreated() -> dict[str, Any] | None:
        """The copy once the new one holds its name and runs (during the swap: None)."""
        out = docker(fleet.nodes[0], "inspect", f"{name}-copy", check=False)
        found: list[dict[str, Any]] = json.loads(out or "[]")
        if found and found[0]["Id"] != copy["Id"] and found[0]["State"]["Status"] == "running":
            return found[0]
        return None

    new = wait_for("the new container", recreated, timeout=60)
    expect(page.locator("[data-overview]")).to_contain_text(new["Id"][:12], timeout=30000)
    expect(page.locator("[data-config-env] tr[data-masked]")).to_contain_text("API_TOKEN")


def test_a_viewer_sees_the_mask_and_no_way_to_copy(
    browser: Browser, fleet: LabRecord, web: str
) -> None:
    assert fleet.server is not None
    user = f"cfgview-{TAG}"
    with client_for(fleet) as admin:
        admin.create_user(user, PASSWORD, Role.viewer)
    page = login(browser, fleet.server.url, user, PASSWORD, viewport=WIDE)
    goto(page, f"{fleet.server.url}/containers/{web}")
    expect(page.locator("[data-config-env] tr[data-masked]")).to_contain_text("API_TOKEN")
    expect(page.get_by_role("link", name="Duplicate…")).to_have_count(0)
    expect(page.get_by_role("button", name="Recreate")).to_have_count(0)
    page.get_by_role("tab", name="Inspect").click()
    expect(page.locator("[data-inspect]")).to_contain_text("API_TOKEN=••••••")
    assert SECRET not in page.content()
    goto(page, f"{fleet.server.url}/containers/new?from={web}")
    expect(page.get_by_text("Creating containers is an operator's")).to_be_visible()
    assert SECRET not in page.content()
    shot(page, "container-config-viewer")
