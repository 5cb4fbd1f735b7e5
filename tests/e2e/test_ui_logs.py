"""The Logs page in Chromium: a search over two nodes with highlighted matches, a live tail.

To iterate against a running lab, name it in ``FLEETDECK_E2E_LAB``. Screenshots go to
``artifacts/screenshots/logs-*.png``.
"""

from __future__ import annotations

import os
import uuid
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Browser, Page, expect

from fleetdeck.lab import Lab
from tests.conftest import client_for
from tests.e2e.ui_helpers import login, shot
from tests.integration.docker_cli import docker
from tests.integration.fleet_helpers import wait_for

if TYPE_CHECKING:
    from collections.abc import Iterator

    from fleetdeck.lab import LabRecord

pytestmark = [pytest.mark.lab, pytest.mark.e2e]

TOKEN = f"ui{uuid.uuid4().hex[:8]}"
STACK = f"uist{TOKEN[-5:]}"
WIDE = {"width": 1366, "height": 860}


@pytest.fixture(scope="module")
def fleet(request: pytest.FixtureRequest) -> LabRecord:
    """``fleet3``, or the running lab named by FLEETDECK_E2E_LAB."""
    existing = os.environ.get("FLEETDECK_E2E_LAB")
    record: LabRecord = (
        Lab(existing).require_record() if existing else request.getfixturevalue("fleet3")
    )
    assert record.server is not None
    return record


@pytest.fixture(scope="module")
def chatty(fleet: LabRecord) -> Iterator[list[str]]:
    """A container of stack STACK on node1 and node2, each printing a TOKEN line a second."""
    names = []
    for node in fleet.nodes[:2]:
        name = f"{STACK}-{node.name}"
        line = f"{TOKEN} request $i from {node.name}"
        script = f'i=0; while true; do i=$((i+1)); echo "{line}"; sleep 1; done'
        docker(node, "run", "-d", "--name", name, "--label", f"com.docker.compose.project={STACK}",
               fleet.images["base"], "sh", "-c", script)  # fmt: skip
        names.append(name)
    with client_for(fleet) as client:
        wait_for(
            "lines of both containers stored",
            lambda: len({h.node for h in client.search_logs(TOKEN, limit=100).items}) == 2,
            timeout=90,
        )
    yield names
    for node, name in zip(fleet.nodes, names, strict=False):
        docker(node, "rm", "-f", name, check=False)


@pytest.fixture(scope="module")
def admin(browser: Browser, fleet: LabRecord) -> Iterator[Page]:
    assert fleet.server is not None
    page = login(browser, fleet.server.url, "admin", fleet.server.admin_password, viewport=WIDE)
    yield page
    page.context.close()


def test_search_from_the_nav_shows_hits_of_two_nodes_highlighted(
    admin: Page, chatty: list[str]
) -> None:
    admin.get_by_role("link", name="Logs", exact=True).click()
    expect(admin.get_by_role("heading", name="Logs", exact=True)).to_be_visible()
    admin.get_by_label("Search").fill(f"{TOKEN} request")
    admin.get_by_role("button", name="Search").click()
    rows = admin.locator("[data-hits] tbody tr")
    expect(rows.first).to_be_visible()
    expect(rows.filter(has_text="from node1").first).to_be_visible()
    expect(rows.filter(has_text="from node2").first).to_be_visible()
    expect(rows.first.locator("mark").first).to_have_text(TOKEN)
    shot(admin, "logs-search")
    # A bad query is explained on the page, not answered with an error page.
    admin.get_by_label("Since").fill("2h")
    admin.get_by_label("Until").fill("3h")
    admin.get_by_role("button", name="Search").click()
    expect(admin.locator("[data-logs-error]")).to_contain_text("inverted")


def test_live_tail_of_the_stack_merges_both_containers(admin: Page, chatty: list[str]) -> None:
    admin.goto(admin.url.split("/logs")[0] + f"/logs?stack={STACK}")
    admin.get_by_role("button", name="Follow live").click()
    tail = admin.locator("[data-tail]")
    expect(tail).to_contain_text("from node1", timeout=30000)
    expect(tail).to_contain_text("from node2", timeout=30000)
    expect(admin.locator("[data-tail-status]")).to_contain_text("following")
    shot(admin, "logs-tail")
    admin.get_by_role("button", name="Stop").click()
    expect(admin.locator("[data-tail-status]")).to_have_text("stopped")
