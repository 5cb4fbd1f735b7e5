"""More of the web UI in Chromium: registries, users' roles, image pull, Swarm services.

On ``fleet3``: add a registry (its password never reaches the page) and remove it, change a
user's role, pull an image onto node3 with its progress shown. On ``swarm3``: a service made
with the docker CLI is scaled from 2 to 3 tasks and rolled to a new image from the UI, with
its tasks and logs shown, and a node is labelled. Screenshots go to ``artifacts/screenshots/``.

To iterate on the UI against running labs, name them in ``FLEETDECK_E2E_LAB`` (plain) and
``FLEETDECK_E2E_SWARM_LAB`` (Swarm).
"""

from __future__ import annotations

import os
import re
import uuid
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from fleetdeck.lab import Lab
from fleetdeck.wire.auth import Role
from tests.conftest import client_for
from tests.e2e.ui_helpers import login, shot
from tests.integration.docker_cli import docker

if TYPE_CHECKING:
    from collections.abc import Iterator

    from fleetdeck.lab import LabRecord

pytestmark = [pytest.mark.lab, pytest.mark.e2e]

TAG = uuid.uuid4().hex[:6]
PASSWORD = "more-password-1"  # noqa: S105 - a test account's password
WIDE = {"width": 1366, "height": 860}


def _lab(request: pytest.FixtureRequest, variable: str, fixture: str) -> LabRecord:
    existing = os.environ.get(variable)
    record: LabRecord = (
        Lab(existing).require_record() if existing else request.getfixturevalue(fixture)
    )
    assert record.server is not None
    return record


@pytest.fixture(scope="module")
def fleet(request: pytest.FixtureRequest) -> LabRecord:
    """``fleet3``, or the running lab named by FLEETDECK_E2E_LAB."""
    return _lab(request, "FLEETDECK_E2E_LAB", "fleet3")


@pytest.fixture(scope="module")
def swarm(request: pytest.FixtureRequest) -> LabRecord:
    """``swarm3``, or the running lab named by FLEETDECK_E2E_SWARM_LAB."""
    return _lab(request, "FLEETDECK_E2E_SWARM_LAB", "swarm3")


def url_of(record: LabRecord) -> str:
    assert record.server is not None
    return record.server.url


def admin_page(browser: Browser, record: LabRecord) -> Page:
    assert record.server is not None
    return login(browser, record.server.url, "admin", record.server.admin_password, viewport=WIDE)


@pytest.fixture(scope="module")
def admin(browser: Browser, fleet: LabRecord) -> Iterator[Page]:
    page = admin_page(browser, fleet)
    yield page
    page.context.close()


@pytest.fixture(scope="module")
def viewer(fleet: LabRecord) -> Iterator[str]:
    """A viewer account on the fleet's server (its username)."""
    name = f"more-viewer-{TAG}"
    with client_for(fleet) as client:
        client.create_user(name, PASSWORD, Role.viewer)
    yield name
    with client_for(fleet) as client:
        client.delete_user(name)


def ok_toast(page: Page, text: str, timeout: float = 15000) -> None:
    expect(page.locator(".toast.ok", has_text=text)).to_have_count(1, timeout=timeout)


def test_registries_add_and_remove_and_the_password_never_shows(
    browser: Browser, admin: Page, fleet: LabRecord, viewer: str
) -> None:
    name, secret = f"reg-{TAG}", f"registry-secret-{uuid.uuid4().hex}"
    admin.goto(url_of(fleet) + "/registries")
    expect(admin.get_by_role("heading", name="Registries")).to_be_visible()
    expect(admin.locator("#nav a[aria-current=page]")).to_have_text("Resources")
    expect(admin.locator("nav.subnav a[aria-current=page]")).to_have_text("Registries")
    add = admin.locator("[data-resource-tools] form")
    add.locator("input[name=name]").fill(name)
    add.locator("input[name=url]").fill(f"https://registry-{TAG}.example:5000")
    add.locator("input[name=username]").fill("robot")
    add.locator("input[name=password]").fill(secret)
    expect(add.locator("input[name=password]")).to_have_attribute("type", "password")
    add.get_by_role("button", name="Add a registry").click()
    ok_toast(admin, f"Add registry {name}: done")
    row = admin.locator("[data-resource-table] tbody tr", has_text=name)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(f"https://registry-{TAG}.example:5000")
    expect(row).to_contain_text("robot")
    expect(add.locator("input[name=password]")).to_have_value("")  # the form was cleared
    assert secret not in admin.content()
    listed = admin.evaluate("async () => (await fetch('/api/v1/registries')).text()")
    assert name in listed and secret not in listed
    shot(admin, "registries")

    page = login(browser, url_of(fleet), viewer, PASSWORD)
    page.goto(url_of(fleet) + "/registries")
    expect(page.locator("[data-resource-table] tbody tr", has_text=name)).to_have_count(1)
    expect(page.locator("[data-resource-tools]")).to_be_hidden()
    expect(page.locator("[data-resource-table] button")).to_have_count(0)
    page.context.close()

    row.get_by_role("button", name="Remove").click()
    expect(admin.locator("[data-confirm-title]")).to_have_text(f"Remove registry {name}?")
    admin.locator("[data-confirm-ok]").click()
    ok_toast(admin, f"Remove registry {name}: done")
    expect(row).to_have_count(0)
    with client_for(fleet) as client:
        assert name not in [r.name for r in client.list_registries()]


def test_an_admin_changes_a_user_s_role(admin: Page, fleet: LabRecord) -> None:
    name = f"more-role-{TAG}"
    with client_for(fleet) as client:
        client.create_user(name, PASSWORD, Role.viewer)
    try:
        admin.goto(url_of(fleet) + "/users")
        select = admin.get_by_label(f"role of {name}")
        expect(select).to_have_value("viewer")
        select.select_option("operator")
        expect(admin.locator("[data-confirm-title]")).to_contain_text(f"{name}'s role to operator")
        admin.locator("[data-confirm-ok]").click()
        ok_toast(admin, f"Change {name}'s role to operator: done")
        expect(admin.get_by_label(f"role of {name}")).to_have_value("operator")
        with client_for(fleet) as client:
            assert next(u for u in client.list_users() if u.username == name).role == "operator"
        # Cancelling the confirmation leaves the role as it was.
        admin.get_by_label(f"role of {name}").select_option("admin")
        admin.locator("dialog[data-confirm] button[value=cancel]").click()
        expect(admin.get_by_label(f"role of {name}")).to_have_value("operator")
    finally:
        with client_for(fleet) as client:
            client.delete_user(name)


def test_image_pull_on_node3_shows_progress_then_the_image_is_listed(
    admin: Page, fleet: LabRecord
) -> None:
    image = fleet.images["web_v2"]
    node3 = next(n for n in fleet.nodes if n.name == "node3")
    docker(node3, "rmi", "-f", image, check=False)
    admin.goto(url_of(fleet) + "/images")
    admin.locator("[data-env-select]").select_option("node3")
    rows = admin.locator("[data-resource-table] tbody tr", has_text=image)
    expect(admin.locator("[data-resource-status]")).to_contain_text("item(s)")
    expect(rows).to_have_count(0)
    pull = admin.locator("[data-resource-tools] form").first
    # The pull has its own environment field, which follows the filter when one is chosen...
    expect(pull.locator("select[name=environment]")).to_have_value("node3")
    # ... and is enough on its own: with the list showing every environment, pull on node3.
    admin.locator("[data-env-select]").select_option("")
    pull.locator("select[name=environment]").select_option("node3")
    pull.locator("input[name=image]").fill(image)
    pull.get_by_role("button", name="Pull an image").click()
    progress = admin.locator("[data-resource-extra] .progress")
    expect(admin.get_by_role("heading", name=f"Pulling {image} on node3")).to_be_visible()
    # One line per layer (its id and last status), then Docker's closing status line.
    expect(progress).to_contain_text(
        re.compile(r"[0-9a-f]{12}: (Pull complete|Already exists)"), timeout=60000
    )
    expect(progress).to_contain_text(f"Status: Downloaded newer image for {image}")
    ok_toast(admin, f"Pulled {image}")
    admin.locator("[data-env-select]").select_option("node3")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("node3")
    shot(admin, "images-pull")


def test_an_older_slower_answer_never_replaces_the_list_just_chosen(
    admin: Page, fleet: LabRecord
) -> None:
    """A reload of every environment, held back while node3 is picked, never redraws the list.

    CI saw a finished pull's reload of every environment overwrite the filter just chosen.
    """
    admin.goto(url_of(fleet) + "/images")
    status = admin.locator("[data-resource-status]")
    expect(status).to_contain_text("item(s)")
    held: list[Route] = []

    def every_environment(url: str) -> bool:
        parts = urlsplit(url)
        return parts.path == "/api/v1/images" and "environment=" not in parts.query

    def hold(route: Route) -> None:
        held.append(route)

    admin.route(every_environment, hold)
    try:
        admin.locator("[data-reload]").click()
        for _ in range(200):
            if held:
                break
            admin.wait_for_timeout(50)
        assert len(held) == 1, "the reload of every environment never reached the route"
        admin.locator("[data-env-select]").select_option("node3")
        environments = admin.locator("[data-resource-table] tbody tr td:first-child")
        expect(status).to_contain_text("item(s)")
        expect(environments.first).to_have_text("node3")
        with admin.expect_response(lambda r: every_environment(r.url)):
            held[0].continue_()
        # The stale answer's handler runs after its body is read: give it a task turn to draw.
        admin.evaluate("() => new Promise((done) => setTimeout(done, 200))")
        assert set(environments.all_inner_texts()) == {"node3"}
    finally:
        admin.unroute(every_environment, hold)


def test_swarm_page_without_a_swarm_shows_only_the_empty_state(
    admin: Page, fleet: LabRecord
) -> None:
    admin.goto(url_of(fleet) + "/swarm")
    expect(admin.locator("[data-swarm-empty]")).to_contain_text(
        "No environment of this server is a Swarm"
    )
    # No environment picker, filter, node-label form or empty tables around it.
    expect(admin.locator("[data-resource]")).to_have_count(0)
    expect(admin.locator("main form")).to_have_count(0)
    expect(admin.locator("main table")).to_have_count(0)
    shot(admin, "swarm-empty")


# ------------------------------------------------------------------------------ Swarm
@pytest.fixture(scope="module")
def swarm_admin(browser: Browser, swarm: LabRecord) -> Iterator[Page]:
    page = admin_page(browser, swarm)
    yield page
    page.context.close()


@pytest.fixture(scope="module")
def service(swarm: LabRecord) -> Iterator[str]:
    """A 2-replica service of the web image, made with the docker CLI on the manager."""
    name = f"ui-{TAG}-svc"
    manager = swarm.nodes[0]
    docker(
        manager,
        "service",
        "create",
        "--detach",
        "--name",
        name,
        "--replicas",
        "2",
        "--endpoint-mode",
        "dnsrr",
        swarm.images["web"],
    )
    yield name
    docker(manager, "service", "rm", name, check=False)


def test_swarm_service_scaled_to_3_from_the_ui_with_its_tasks_and_logs(
    swarm_admin: Page, swarm: LabRecord, service: str
) -> None:
    page = swarm_admin
    page.goto(url_of(swarm) + "/swarm")
    row = page.locator(f"tr[data-service='{service}']")
    expect(row).to_have_count(1)
    row.get_by_role("button", name=f"Tasks and logs of {service}").click()
    expect(page.get_by_role("heading", name=f"Service {service}")).to_be_visible()
    running = page.locator("[data-service-tasks] tr[data-task-state=running]")
    expect(running).to_have_count(2, timeout=60000)
    row.get_by_label(f"replicas of {service}").fill("3")
    row.get_by_role("button", name="Scale").click()
    ok_toast(page, f"Scale {service} to 3: done")
    expect(running).to_have_count(3, timeout=60000)
    hostnames = {n.hostname for n in swarm.nodes}
    for i in range(3):
        assert running.nth(i).get_attribute("data-task-node") in hostnames
    expect(row.locator("[data-service-running]")).to_have_text("3/3", timeout=20000)
    # The web app logs a line on request: make one in a task, then refresh the logs.
    marker = f"service-log-{uuid.uuid4().hex[:8]}"
    where = f"label=com.docker.swarm.service.name={service}"
    node, task = next(
        (n, t) for n in swarm.nodes if (t := docker(n, "ps", "-q", "--filter", where))
    )
    wget = ("wget", "-q", "-O", "/dev/null", f"http://127.0.0.1/cgi-bin/log?line={marker}")
    docker(node, "exec", task.split()[0], *wget)
    page.get_by_role("button", name="Refresh logs").click()
    expect(page.locator("[data-service-logs]")).to_contain_text(f"app: {marker}")
    expect(page.locator("[data-service-logs-status]")).to_have_text(re.compile(r"last \d+ line"))
    shot(page, "swarm-services")


def test_swarm_service_image_updated_from_the_ui(
    swarm_admin: Page, swarm: LabRecord, service: str
) -> None:
    page = swarm_admin
    new_image = swarm.images["web_v2"]
    page.goto(url_of(swarm) + "/swarm")
    row = page.locator(f"tr[data-service='{service}']")
    row.get_by_role("button", name=f"Tasks and logs of {service}").click()
    page.get_by_label(f"New image of {service}").fill(new_image)
    expect(page.get_by_label(f"New image of {service}")).to_have_value(new_image)
    page.get_by_role("button", name="Update image").click()
    expect(page.locator("[data-confirm-title]")).to_have_text(f"Update {service} to {new_image}?")
    page.locator("[data-confirm-ok]").click()
    ok_toast(page, f"Update {service} to {new_image}: done")
    expect(row.locator("td.mono")).to_have_text(new_image)
    # The rolling update replaces the tasks one by one (each old one stops within 10 s).
    desired = int(row.locator("[data-service-running]").inner_text().split("/")[1])
    updated = page.locator("[data-service-tasks] tr[data-task-state=running]", has_text=new_image)
    expect(updated).to_have_count(desired, timeout=120000)
    expect(page.locator("[data-service-tasks] tr[data-task-state=running]")).to_have_count(desired)
    shot(page, "swarm-service-updated")


def test_swarm_node_label_set_from_the_ui(swarm_admin: Page, swarm: LabRecord) -> None:
    page = swarm_admin
    page.goto(url_of(swarm) + "/swarm")
    hostname = swarm.nodes[1].hostname
    node_row = page.locator("[data-resource-table] tbody tr", has_text=hostname)
    node_row.get_by_role("button", name="Label").click()
    label = page.locator("[data-resource-tools] form")
    expect(label.locator("input[name=node]")).to_have_value(hostname)
    expect(label.locator("input[name=key]")).to_be_focused()
    label.locator("input[name=key]").fill("zone")
    label.locator("input[name=value]").fill(f"z-{TAG}")
    label.get_by_role("button", name="Set a node label").click()
    ok_toast(page, f"Label {hostname} zone=z-{TAG}: done")
    expect(node_row).to_contain_text(f"zone=z-{TAG}")
