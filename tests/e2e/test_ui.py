"""The web UI in a real headless Chromium (Debian's) against a server managing a 3-node lab.

Covers issue 4's "Done when": log in, containers of all nodes, stop/start from the UI with
the dashboard changing live, logs followed live, the stats chart drawn, the console, and a
viewer without buttons whose direct API call is refused clearly. Screenshots of the main
pages go to ``artifacts/screenshots/``.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Browser, Page, expect

from fleetdeck.lab import Lab
from fleetdeck.wire.auth import Role
from tests.conftest import client_for
from tests.e2e.ui_helpers import goto, login, shot, wait_until
from tests.integration.docker_cli import docker

if TYPE_CHECKING:
    from collections.abc import Iterator

    from fleetdeck.lab import LabRecord

pytestmark = [pytest.mark.lab, pytest.mark.e2e]

VIEWER_PASSWORD = "viewer-password-1"  # noqa: S105 - a test account's password
TAG = uuid.uuid4().hex[:6]
VIEWER = f"viewer-{TAG}"


class UiLab:
    """The lab, its server, and one web container per node that the tests act on."""

    def __init__(self, record: LabRecord) -> None:
        assert record.server is not None
        self.record = record
        self.url = record.server.url
        self.password = record.server.admin_password
        self.names = {n.name: f"ui-{TAG}-{n.name}" for n in record.nodes}
        #: ``ENV/NODE/NAME`` of each test container, by environment (one per lab node).
        self.refs: dict[str, str] = {}


@pytest.fixture(scope="module")
def lab(request: pytest.FixtureRequest) -> Iterator[UiLab]:
    """The ``fleet3`` lab, or (to iterate on the UI) a running lab named by FLEETDECK_E2E_LAB."""
    existing = os.environ.get("FLEETDECK_E2E_LAB")
    if existing:
        fleet3 = Lab(existing).require_record()
    else:
        fleet3 = request.getfixturevalue("fleet3")
    ui = UiLab(fleet3)
    for node in fleet3.nodes:
        docker(node, "run", "-d", "--name", ui.names[node.name], fleet3.images["web"])
    with client_for(fleet3) as client:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            items = client.list_containers(name=f"ui-{TAG}-").items
            if len(items) == 3:
                break
            time.sleep(0.2)
        assert len(items) == 3, items
        ui.refs = {c.environment: f"{c.environment}/{c.node}/{c.name}" for c in items}
        client.create_user(VIEWER, VIEWER_PASSWORD, Role.viewer)
    yield ui
    for node in fleet3.nodes:
        docker(node, "rm", "-f", ui.names[node.name], check=False)


def new_page(browser: Browser, lab: UiLab, user: str, password: str, **context: object) -> Page:
    """A page in a fresh context, logged in through the login form."""
    return login(browser, lab.url, user, password, **context)


@pytest.fixture(scope="module")
def admin(browser: Browser, lab: UiLab) -> Iterator[Page]:
    page = new_page(browser, lab, "admin", lab.password, viewport={"width": 1366, "height": 860})
    yield page
    page.context.close()


def test_login_then_containers_of_all_three_nodes(admin: Page, lab: UiLab) -> None:
    shot(admin, "dashboard")
    admin.goto(lab.url + "/containers")
    table = admin.locator("table.containers")
    for ref in lab.refs.values():
        row = table.locator(f"tr[data-ref='{ref}']")
        expect(row).to_have_count(1)
        expect(row.locator("[data-state-cell]")).to_have_text("running")
    admin.get_by_label("Search").fill(f"ui-{TAG}")
    expect(table.locator("tbody tr")).to_have_count(3)
    shot(admin, "containers")


def test_stop_on_node3_shows_live_on_the_dashboard_then_start(
    browser: Browser, admin: Page, lab: UiLab
) -> None:
    ref = lab.refs["node3"]
    dashboard = admin.context.new_page()
    dashboard.goto(lab.url + "/")
    # "Needs attention" lists the container once it is not running (it may list it while
    # its health is "starting"), and the nodes table counts it.
    exited = dashboard.locator(f"[data-container='{ref}'] [data-state]", has_text="exited")
    expect(exited).to_have_count(0)
    expect(dashboard.locator("[data-live]")).to_have_class("live on")
    before = dashboard.locator("[data-count=exited]").inner_text()
    admin.goto(lab.url + "/containers/" + ref)
    admin.get_by_role("button", name="Stop", exact=True).click()
    admin.locator("[data-confirm-ok]").click()
    # docker stop waits up to 10 s for the web app to exit.
    expect(admin.locator(".toast.ok").last).to_contain_text("stop", timeout=20000)
    # The dashboard was not reloaded: the SSE stream brought the change.
    expect(exited).to_have_count(1, timeout=10000)
    expect(dashboard.locator("[data-count=exited]")).to_have_text(str(int(before) + 1))
    expect(admin.locator("[data-container-state]")).to_have_text("exited")
    shot(dashboard, "dashboard-after-stop")
    admin.get_by_role("button", name="Start", exact=True).click()
    expect(exited).to_have_count(0, timeout=10000)
    expect(dashboard.locator("[data-count=exited]")).to_have_text(before)
    expect(admin.locator("[data-container-state]")).to_have_text("running")
    dashboard.close()


def test_a_partitioned_node_and_its_alert_need_attention_and_nodes_show_figures(
    browser: Browser, admin: Page, lab: UiLab
) -> None:
    # Issue #12: Needs attention listed containers only; the node table had no figures.
    rule = f"e2e-unreachable-{TAG}"
    node3 = lab.refs["node3"].split("/")[0]
    dashboard = admin.context.new_page()
    dashboard.set_viewport_size({"width": 1366, "height": 768})
    dashboard.goto(lab.url + "/")
    node1_cpu = dashboard.locator("[data-node^='node1/'] [data-figure=cpu]")
    expect(node1_cpu).to_have_text(re.compile(r"^\d+%$"), timeout=30000)  # periodic refresh
    expect(dashboard.locator("[data-node^='node1/'] [data-figure=memory]")).to_have_text(
        re.compile(r"^\d+%$")
    )
    charts, events = (dashboard.locator(s).bounding_box() for s in ("[data-history]", "#h-events"))
    assert charts is not None and events is not None and charts["y"] < events["y"]
    lab_api = Lab(lab.record.name)
    with client_for(lab.record) as client:
        client.create_rule(
            {"name": rule, "condition": "node_unreachable", "environments": [node3],
             "for": "0s", "severity": "critical"}
        )  # fmt: skip
        lab_api.partition(node3)
        try:
            node = dashboard.locator(f"[data-attention-node^='{node3}/']")
            expect(node).to_contain_text("unreachable", timeout=60000)
            expect(node.get_by_role("link")).to_have_attribute("href", f"/environments/{node3}")
            alert = dashboard.locator("[data-attention-alert]", has_text=rule)
            expect(alert).to_contain_text("does not answer", timeout=60000)
            expect(alert.get_by_role("link", name=rule)).to_have_attribute("href", "/alerts")
            # Its figures are stale once the partition outlasts their freshness (a minute).
            stale = dashboard.locator(f"[data-node^='{node3}/'] [data-figure=cpu]")
            expect(stale).to_have_text("—", timeout=90000)
            shot(dashboard, "dashboard-attention")
            phone = new_page(
                browser, lab, "admin", lab.password, viewport={"width": 390, "height": 844}
            )
            expect(phone.locator(f"[data-attention-node^='{node3}/']")).to_be_visible()
            memory = phone.locator("[data-node^='node1/'] [data-figure=memory]")
            box = memory.bounding_box()  # CPU and memory stay on a phone's screen
            assert box is not None and box["x"] + box["width"] <= 390, box
            shot(phone, "dashboard-attention-phone")
            phone.context.close()
        finally:
            lab_api.heal(node3)
            client.delete_rule(rule)
        expect(dashboard.locator(f"[data-attention-node^='{node3}/']")).to_have_count(
            0, timeout=60000
        )
    dashboard.close()


def test_logs_follow_shows_a_new_line(admin: Page, lab: UiLab) -> None:
    ref = lab.refs["node2"]
    admin.goto(lab.url + "/containers/" + ref + "#logs")
    expect(admin.locator("[data-logs-status]")).to_have_text("following")
    marker = f"hello-from-e2e-{uuid.uuid4().hex[:8]}"
    node = next(n for n in lab.record.nodes if n.name == "node2")
    docker(
        node,
        "exec",
        lab.names["node2"],
        "wget",
        "-q",
        "-O",
        "/dev/null",
        f"http://127.0.0.1/cgi-bin/log?line={marker}",
    )
    expect(admin.locator("[data-logs]")).to_contain_text(f"app: {marker}", timeout=10000)
    admin.get_by_label("Filter").fill(marker)
    expect(admin.locator("[data-logs] > span")).to_have_count(1)
    shot(admin, "container-logs")


def test_stats_chart_draws(admin: Page, lab: UiLab) -> None:
    admin.goto(lab.url + "/containers/" + lab.refs["node1"] + "#stats")
    wait_until(
        admin, "() => !!window.fleetdeckStats && window.fleetdeckStats.points >= 3", timeout=20
    )
    painted = admin.evaluate(
        """() => {
          const c = document.querySelector('[data-chart=mem]');
          const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
          let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
          return n;
        }"""
    )
    assert painted > 200
    shot(admin, "container-stats")


def test_console_runs_a_command(admin: Page, lab: UiLab) -> None:
    admin.goto(lab.url + "/containers/" + lab.refs["node1"])
    admin.get_by_role("tab", name="Console").click()
    if admin.locator("[data-console-missing]").is_visible():
        pytest.fail("xterm.js is not installed (npm ci)")
    admin.get_by_role("button", name="Connect", exact=True).click()
    expect(admin.locator("[data-console-status]")).to_have_text("connected")
    admin.locator(".xterm-helper-textarea").focus()
    admin.keyboard.type("echo console-$((6*7))\n")
    wait_until(
        admin,
        "() => !!window.fleetdeckConsole && window.fleetdeckConsole.text().includes('console-42')",
    )
    shot(admin, "container-console")
    admin.get_by_role("button", name="Disconnect").click()


def test_a_viewer_sees_no_stop_button_and_the_api_refuses(browser: Browser, lab: UiLab) -> None:
    page = new_page(browser, lab, VIEWER, VIEWER_PASSWORD)
    page.goto(lab.url + "/containers/" + lab.refs["node3"])
    expect(page.locator("[data-container-state]")).to_have_text("running")
    expect(page.get_by_role("button", name="Stop")).to_have_count(0)
    page.goto(lab.url + "/containers")
    expect(page.locator("button[data-action]")).to_have_count(0)
    answer = page.evaluate(
        """async (ref) => {
          const r = await fetch('/api/v1/containers/' + ref + '/stop', {method: 'POST'});
          return {status: r.status, body: await r.json()};
        }""",
        lab.refs["node3"],
    )
    assert answer["status"] == 403
    assert "operator role" in answer["body"]["message"]
    shot(page, "viewer-containers")
    page.context.close()


def test_screenshots_of_the_other_pages(browser: Browser, admin: Page, lab: UiLab) -> None:
    for path, name, ready in (
        ("/environments", "environments", "table"),
        ("/environments/node1", "environment-detail", "table"),
        ("/images", "images", "[data-resource-table] table"),
        ("/volumes", "volumes", "[data-resource-table] table"),
        ("/networks", "networks", "[data-resource-table] table"),
        ("/users", "users", "[data-resource-table] table"),
        ("/tokens", "tokens", "[data-resource-table] table"),
        ("/audit", "audit", "[data-resource-table] table"),
    ):
        goto(admin, lab.url + path)
        expect(admin.locator(ready).first).to_be_visible()
        shot(admin, name)
    dark = new_page(
        browser,
        lab,
        "admin",
        lab.password,
        color_scheme="dark",
        viewport={"width": 1366, "height": 860},
    )
    shot(dark, "dashboard-dark")
    goto(dark, lab.url + "/containers")
    shot(dark, "containers-dark")
    dark.context.close()
    phone = new_page(browser, lab, "admin", lab.password, viewport={"width": 390, "height": 844})
    shot(phone, "dashboard-phone")
    phone.context.close()
    goto(admin, lab.url + "/login")  # signed in: goes on to the dashboard
    expect(admin.get_by_role("heading", name="Dashboard")).to_be_visible()
