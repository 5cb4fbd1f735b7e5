"""Every page of the web UI at phone width (390 px): nothing overflows sideways.

A table wider than the screen scrolls inside its own box (``.table-wrap``); the page itself
never does, and the state column of the containers table stays on screen. Screenshots of
every page go to ``artifacts/screenshots/phone-*.png``.
"""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import expect

from fleetdeck.errors import NotFoundError
from tests.conftest import client_for
from tests.e2e.ui_helpers import goto, login, shot
from tests.integration.docker_cli import docker

if TYPE_CHECKING:
    from collections.abc import Iterator

    from playwright.sync_api import Browser, Page

    from fleetdeck.lab import LabRecord

pytestmark = [pytest.mark.lab, pytest.mark.e2e]

PHONE = {"width": 390, "height": 844}
TAG = uuid.uuid4().hex[:6]
STATIC_PAGES = [
    "/", "/containers", "/stacks", "/stacks/new", "/logs", "/environments", "/swarm",
    "/reports/capacity", "/images", "/volumes", "/networks", "/registries", "/alerts",
    "/rules", "/silences", "/channels", "/tokens", "/users", "/audit",
]  # fmt: skip


@pytest.fixture(scope="module")
def phone(browser: Browser, fleet3: LabRecord) -> Iterator[Page]:
    assert fleet3.server is not None
    page = login(browser, fleet3.server.url, "admin", fleet3.server.admin_password,
                 viewport=PHONE)  # fmt: skip
    yield page
    page.context.close()


@pytest.fixture(scope="module")
def objects(fleet3: LabRecord) -> Iterator[dict[str, str]]:
    """A container with a long name and a stack, so the per-object pages have content.

    A failed pull of an image with a long reference puts one long word (the reference, which
    has no place to break) into the dashboard's recent events, as image digests and errors
    echoing paths do in a real fleet.
    """
    node = fleet3.nodes[0]
    name = f"phone-width-container-with-a-long-name-{TAG}"
    stack = f"phone{TAG}"
    docker(node, "run", "-d", "--name", name, fleet3.images["web"])
    files = [{"name": "compose.yaml",
              "content": f"services:\n  web:\n    image: {fleet3.images['web']}\n"}]  # fmt: skip
    with client_for(fleet3) as client:
        long_ref = f"{fleet3.registry}/{'n' * 40}{TAG}{'m' * 40}:{'t' * 30}"
        with pytest.raises(NotFoundError):
            list(client.pull(long_ref, node.name))
        list(client.deploy_stack(stack, node.name, files))
        try:
            yield {"container": f"/containers/{node.name}/{name}", "stack": f"/stacks/{stack}",
                   "environment": f"/environments/{node.name}"}  # fmt: skip
        finally:
            client.remove_stack(stack)
            docker(node, "rm", "-f", name, check=False)


def _widths(page: Page) -> tuple[int, int]:
    scroll, width = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    return int(scroll), int(width)


def test_no_page_is_wider_than_a_phone(
    phone: Page, fleet3: LabRecord, objects: dict[str, str]
) -> None:
    assert fleet3.server is not None
    too_wide = {}
    for path in [*STATIC_PAGES, *objects.values()]:
        goto(phone, fleet3.server.url + path)
        expect(phone.locator("main")).to_be_visible()
        phone.wait_for_timeout(1000)  # let the page's script fill its tables (not a timing test)
        scroll, width = _widths(phone)
        if scroll > width:
            too_wide[path] = scroll
        label = path.strip("/").replace("/", "-") or "dashboard"
        shot(phone, f"phone-{label[:60]}")
    assert too_wide == {}, f"pages wider than {PHONE['width']} px: {too_wide}"


def test_containers_table_keeps_the_state_column_on_screen(
    phone: Page, fleet3: LabRecord, objects: dict[str, str]
) -> None:
    assert fleet3.server is not None
    goto(phone, fleet3.server.url + "/containers")
    state = phone.locator("[data-state-cell]").first
    expect(state).to_be_visible()
    box = state.bounding_box()
    assert box is not None and box["x"] + box["width"] <= PHONE["width"], box
    # The stack's container runs a pinned digest; the table shows the tag, the digest is in
    # the tooltip (the image column itself is left out at this width).
    image = phone.locator("tr", has_text=objects["stack"].rsplit("/", 1)[1]).locator("td.col-image")
    expect(image).to_have_text(fleet3.images["web"])
    expect(image).to_have_attribute("title", re.compile(r"@sha256:[0-9a-f]{64}$"))
