"""The Images and Volumes pages say what is in use and how big volumes are (issue #12).

On ``fleet3``'s node2: a volume a stopped container wrote 1 MiB into shows that container in
its "Used by" column and its size once the sizes arrive; "only unused" leaves it out. An
image no container uses carries the "unused" badge, the seed image the container runs from
names it, and "only unused" keeps only badged rows. Screenshots go to
``artifacts/screenshots/images-usage.png`` and ``volumes-usage.png``.
"""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import expect

from tests.e2e.ui_helpers import goto, login, shot
from tests.integration.docker_cli import docker

if TYPE_CHECKING:
    from collections.abc import Iterator

    from playwright.sync_api import Browser, Page

    from fleetdeck.lab import LabRecord

pytestmark = [pytest.mark.lab, pytest.mark.e2e]

TAG = uuid.uuid4().hex[:6]
WIDE = {"width": 1500, "height": 860}
UNUSED_IMAGE = f"ui-unused-{TAG}:1"


@pytest.fixture(scope="module")
def admin(browser: Browser, fleet3: LabRecord) -> Iterator[Page]:
    assert fleet3.server is not None
    server = fleet3.server
    page = login(browser, server.url, "admin", server.admin_password, viewport=WIDE)
    yield page
    page.context.close()


@pytest.fixture(scope="module")
def writer(fleet3: LabRecord) -> Iterator[tuple[str, str, str]]:
    """On node2: a volume, the stopped container that wrote 1 MiB into it, two unused images.

    Both images are committed from that container, so nothing runs them: one tagged, one
    not (dangling; its id is the third item).
    """
    node = fleet3.nodes[1]
    volume, container = f"ui-data-{TAG}", f"ui-writer-{TAG}"
    dd = ["sh", "-c", "dd if=/dev/zero of=/data/blob bs=1M count=1"]
    docker(node, "run", "--name", container, "-v", f"{volume}:/data", fleet3.images["base"], *dd)
    docker(node, "commit", container, UNUSED_IMAGE)
    dangling = docker(node, "commit", "--message", TAG, container)
    docker(node, "volume", "create", f"ui-spare-{TAG}")
    try:
        yield volume, container, dangling
    finally:
        docker(node, "rm", "-f", container, check=False)
        docker(node, "volume", "rm", "-f", volume, f"ui-spare-{TAG}", check=False)
        docker(node, "rmi", UNUSED_IMAGE, dangling, check=False)


def test_volumes_show_who_mounts_them_and_their_size(
    admin: Page, fleet3: LabRecord, writer: tuple[str, str, str]
) -> None:
    volume, container, _ = writer
    assert fleet3.server is not None
    goto(admin, fleet3.server.url + "/volumes")
    admin.locator("[data-env-select]").select_option("node2")
    header = admin.locator("[data-resource-table] thead th")
    expect(header.filter(has_text="Used by")).to_have_count(1)
    expect(header.filter(has_text="Size")).to_have_count(1)
    row = admin.locator("[data-resource-table] tbody tr", has_text=volume)
    expect(row).to_contain_text(container)
    # The sizes come from a second request, after the list: "measuring…", then the bytes.
    expect(row).to_contain_text(re.compile(r"1\.0\sMiB"), timeout=40000)
    spare = admin.locator("[data-resource-table] tbody tr", has_text=f"ui-spare-{TAG}")
    expect(spare.locator(".badge", has_text="unused")).to_have_count(1)
    expect(admin.locator("[data-resource-note]")).to_contain_text("disk-usage walk")
    shot(admin, "volumes-usage")
    admin.locator("[data-resource-check=unused]").check()
    expect(spare).to_have_count(1)
    expect(row).to_have_count(0)


def test_images_show_unused_and_who_uses_the_rest(
    admin: Page, fleet3: LabRecord, writer: tuple[str, str, str]
) -> None:
    _, container, dangling_id = writer
    assert fleet3.server is not None
    base = fleet3.images["base"]
    goto(admin, fleet3.server.url + "/images")
    admin.locator("[data-env-select]").select_option("node2")
    expect(admin.locator("[data-resource-table] thead th", has_text="Used by")).to_have_count(1)
    used = admin.locator("[data-resource-table] tbody tr", has_text=base)
    # The cell shows the first few names; its title has all (other tests' containers too).
    expect(used.locator(f'span[title*="{container}"]')).to_have_count(1)
    expect(used.locator(".badge", has_text="unused")).to_have_count(0)
    unused = admin.locator("[data-resource-table] tbody tr", has_text=UNUSED_IMAGE)
    expect(unused.locator(".badge", has_text="unused")).to_have_count(1)
    dangling = admin.locator("[data-resource-table] tbody tr", has_text=short(dangling_id))
    expect(dangling.locator(".badge", has_text="dangling")).to_have_count(1)
    expect(dangling.locator(".badge", has_text="unused")).to_have_count(1)
    expect(unused.locator(".badge", has_text="dangling")).to_have_count(0)
    shot(admin, "images-usage")
    admin.locator("[data-resource-check=unused]").check()
    expect(unused).to_have_count(1)
    expect(used).to_have_count(0)
    rows = admin.locator("[data-resource-table] tbody tr")
    for index in range(rows.count()):
        expect(rows.nth(index).locator(".badge", has_text="unused")).to_have_count(1)
    admin.locator("[data-resource-check=dangling]").check()
    expect(dangling).to_have_count(1)
    expect(unused).to_have_count(0)


def short(image_id: str) -> str:
    """The 12 characters of an image id the page shows."""
    return image_id.removeprefix("sha256:")[:12]
