"""Metrics in the web UI (Chromium): history charts with a range picker, and the capacity page.

On ``fleet3`` (or the running lab named by ``FLEETDECK_E2E_LAB``): a container with a memory
limit far above its use and one with no limits run on node1; the dashboard draws CPU and
memory per node, the environment page the node's history, the container page's History tab
the container's, switching ranges changes the resolution (raw → 1-minute rollups), and the
capacity page lists the node and flags both containers. Screenshots go to
``artifacts/screenshots/metrics-*.png``.
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

WIDE = {"width": 1366, "height": 900}
TAG = uuid.uuid4().hex[:6]


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
def containers(fleet: LabRecord) -> Iterator[tuple[str, str]]:
    """(a container with a 256 MiB limit, one without limits) on node1, with history."""
    node = fleet.nodes[0]
    limited, unlimited = f"cap-lim-{TAG}", f"cap-free-{TAG}"
    docker(node, "run", "-d", "--name", limited, "--memory", "256m", fleet.images["web"])
    docker(node, "run", "-d", "--name", unlimited, fleet.images["web"])
    with client_for(fleet) as client:
        env = client.get_environment(node.name)
        target = f"{env.name}/{env.nodes[0].name}/{limited}"

        def sampled() -> bool:
            result = client.query_metrics(target, "memory_working_set_bytes")
            return bool(result.series and result.series[0].points)

        wait_for("a sample of the limited container", sampled, timeout=90)
    yield limited, unlimited
    docker(node, "rm", "-f", limited, unlimited)


@pytest.fixture(scope="module")
def page(browser: Browser, fleet: LabRecord) -> Iterator[Page]:
    assert fleet.server is not None
    admin = login(browser, fleet.server.url, "admin", fleet.server.admin_password, viewport=WIDE)
    yield admin
    admin.context.close()


def loaded(page: Page, scope: str = "") -> None:
    """Wait until every history section in ``scope`` has drawn at least once."""
    sections = page.locator(f"{scope} [data-history]")
    for i in range(sections.count()):
        expect(sections.nth(i)).to_have_attribute("data-loaded", "1", timeout=30000)


def test_dashboard_and_environment_pages_chart_history_with_a_range_picker(
    page: Page, fleet: LabRecord, containers: tuple[str, str]
) -> None:
    assert fleet.server is not None
    page.goto(fleet.server.url + "/")
    loaded(page)
    fleet_charts = page.locator("[data-history=fleet]")
    expect(fleet_charts.locator("figcaption")).to_have_count(2)
    legend = fleet_charts.locator("figure").first.locator("[data-legend] span")
    expect(legend).to_have_count(len(fleet.nodes))
    shot(page, "metrics-dashboard")

    node = fleet.nodes[0].name
    page.goto(f"{fleet.server.url}/environments/{node}")
    loaded(page)
    history = page.locator("[data-history=host]").first
    expect(history.locator("[data-history-status]")).to_contain_text("raw data")
    expect(history.locator("figcaption").first).not_to_contain_text("no data")
    history.get_by_role("button", name="24h").click()
    expect(history.locator("[data-history-status]")).to_contain_text("1m data")
    expect(history.get_by_role("button", name="24h")).to_have_attribute("aria-pressed", "true")
    shot(page, "metrics-environment")
    history.get_by_role("button", name="1h").click()  # the range is remembered: put it back
    expect(history.locator("[data-history-status]")).to_contain_text("raw data")


def test_container_history_tab(page: Page, fleet: LabRecord, containers: tuple[str, str]) -> None:
    assert fleet.server is not None
    limited, _ = containers
    node = fleet.nodes[0].name
    with client_for(fleet) as client:
        host = client.get_environment(node).nodes[0].name
    page.goto(f"{fleet.server.url}/containers/{node}/{host}/{limited}")
    page.get_by_role("tab", name="History").click()
    loaded(page, "#panel-history")
    memory = page.locator("#panel-history figure", has_text="Memory working set")
    expect(memory.locator("[data-now]")).to_contain_text("iB")
    shot(page, "metrics-container")


def test_capacity_page_lists_nodes_and_flags_limits(
    page: Page, fleet: LabRecord, containers: tuple[str, str]
) -> None:
    assert fleet.server is not None
    limited, unlimited = containers
    page.goto(fleet.server.url + "/")
    page.locator("#nav").get_by_role("link", name="Capacity").click()
    expect(page.get_by_role("heading", name="Capacity", exact=True)).to_be_visible()
    page.get_by_role("link", name="1h", exact=True).click()
    expect(page).to_have_url(fleet.server.url + "/reports/capacity?window=1h")
    nodes = page.locator("[data-capacity-nodes] tbody tr")
    expect(nodes).to_have_count(len(fleet.nodes))
    flagged = page.locator("[data-capacity-containers] tbody")
    expect(flagged.locator("tr", has_text=limited)).to_contain_text("memory limit far above use")
    expect(flagged.locator("tr", has_text=unlimited)).to_contain_text("no memory limit")
    loaded(page)
    shot(page, "metrics-capacity")
