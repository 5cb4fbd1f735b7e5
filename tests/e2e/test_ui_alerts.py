"""The alerting pages in Chromium: channels (add, test, history), rules, silences, alerts.

On ``fleet3``: an admin adds a webhook channel whose secret never reaches the page, sends a
test notification that a real receiver gets, sees it in the delivery history; the rules page
lists the built-in rules; a silence and a maintenance window are added from their forms.
Screenshots go to ``artifacts/screenshots/``.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import client_for
from tests.e2e.ui_helpers import login, shot
from tests.integration.alert_receivers import WebhookReceiver
from tests.integration.fleet_helpers import wait_for

if TYPE_CHECKING:
    from collections.abc import Iterator

    from fleetdeck.lab import LabRecord

pytestmark = [pytest.mark.lab, pytest.mark.e2e]

TAG = uuid.uuid4().hex[:6]
WIDE = {"width": 1366, "height": 860}
#: Milliseconds to wait for what a page fetches (the machine may be busy with other tests).
LOADED = 30000


def url_of(record: LabRecord) -> str:
    assert record.server is not None
    return record.server.url


@pytest.fixture(scope="module")
def admin(browser: Browser, fleet3: LabRecord) -> Iterator[Page]:
    assert fleet3.server is not None
    page = login(browser, url_of(fleet3), "admin", fleet3.server.admin_password, viewport=WIDE)
    yield page
    page.context.close()


def ok_toast(page: Page, text: str) -> None:
    expect(page.locator(".toast.ok", has_text=text)).to_have_count(1, timeout=30000)


def test_a_channel_is_added_and_tested_from_the_ui(admin: Page, fleet3: LabRecord) -> None:
    name, secret = f"ui-hook-{TAG}", f"tok{uuid.uuid4().hex}"
    with WebhookReceiver() as hook:
        admin.goto(url_of(fleet3) + "/channels")
        expect(admin.get_by_role("heading", name="Notification channels")).to_be_visible()
        add = admin.locator("[data-resource-tools] form")
        add.locator("input[name=name]").fill(name)
        add.locator("input[name=url]").fill(f"json://u:{secret}@127.0.0.1:{hook.port}/alerts")
        add.get_by_role("button", name="Add a channel").click()
        ok_toast(admin, f"Add channel {name}: done")
        row = admin.locator("[data-resource-table] tbody tr", has_text=name)
        # Listed with scheme and host only (user, password, port and path never show).
        expect(row).to_contain_text("json://127.0.0.1/***", timeout=LOADED)
        assert secret not in admin.content()
        row.get_by_role("button", name="Send test").click()
        ok_toast(admin, f"Test to {name}: sent")
        wait_for("the test at the receiver", lambda: hook.titles(name), timeout=30)
        history = admin.locator("[data-resource-extra] tbody tr", has_text=name)
        expect(history.first).to_contain_text("sent", timeout=LOADED)
        shot(admin, "alert-channels")
    with client_for(fleet3) as client:
        client.delete_channel(name)


def test_rules_silences_and_alerts_pages(admin: Page, fleet3: LabRecord) -> None:
    base = url_of(fleet3)
    admin.goto(base + "/rules")
    expect(admin.locator("#nav a[aria-current=page]")).to_have_text("Alerts")
    expect(admin.locator("nav.subnav a[aria-current=page]")).to_have_text("Rules")
    # The table is filled by a fetch: on a loaded machine that can take longer than 5 s.
    expect(admin.locator("[data-resource-status]")).to_contain_text("item(s)", timeout=LOADED)
    for builtin in ("node-unreachable", "host-cpu-high", "stack-deploy-failed"):
        expect(admin.locator("[data-resource-table] tbody tr", has_text=builtin)).to_have_count(1)
    shot(admin, "alert-rules")

    admin.goto(base + "/silences")
    forms = admin.locator("[data-resource-tools] form")
    silence = forms.nth(0)
    silence.locator("input[name=matchers]").fill(f"rule=ui-{TAG}")
    silence.locator("input[name=duration]").fill("10m")
    silence.get_by_role("button", name="Add a silence").click()
    ok_toast(admin, "Add silence: done")
    expect(
        admin.locator("[data-resource-table] tbody tr", has_text=f"rule=ui-{TAG}")
    ).to_contain_text("active")
    window = forms.nth(1)
    window.locator("select[name=environment]").select_option(fleet3.nodes[0].name)
    window.locator("input[name=duration]").fill("10m")
    window.locator("input[name=reason]").fill(f"ui-{TAG}")
    window.get_by_role("button", name="Start maintenance").click()
    ok_toast(admin, f"Start maintenance of {fleet3.nodes[0].name}: done")
    expect(admin.locator("[data-resource-extra] tbody tr", has_text=f"ui-{TAG}")).to_have_count(1)
    shot(admin, "alert-silences")
    with client_for(fleet3) as client:
        for s in client.list_silences():
            if s.matchers == [f"rule=ui-{TAG}"]:
                client.expire_silence(s.id)
        for m in client.list_maintenance():
            if m.reason == f"ui-{TAG}":
                client.end_maintenance(m.id)

    admin.goto(base + "/alerts")
    expect(admin.get_by_role("heading", name="Alerts")).to_be_visible()
    expect(admin.locator("[data-resource-status]")).to_contain_text("item(s)", timeout=LOADED)
    shot(admin, "alerts")
