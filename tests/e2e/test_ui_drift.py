"""A stack's drift on its page, in headless Chromium against the real lab.

A container removed by hand (``docker rm``) shows on the Services tab as drift of ``web``;
the operator picks the ``revert`` policy there and the page shows the stack in sync again once
fleetdeck redeployed the revision. Screenshot: ``artifacts/screenshots/stacks-drift.png``.
"""

from __future__ import annotations

import contextlib
import uuid
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Browser, expect

from fleetdeck.errors import FleetdeckError
from tests.conftest import client_for, fleetdeck, server_env
from tests.e2e.ui_helpers import goto, login, retrying, shot
from tests.integration.docker_cli import docker

if TYPE_CHECKING:
    from pathlib import Path

    from fleetdeck.lab import LabRecord

pytestmark = [pytest.mark.lab, pytest.mark.e2e]


def test_drift_shows_on_the_stack_page_and_revert_heals_it(
    browser: Browser, e2e_lab: LabRecord, tmp_path: Path
) -> None:
    lab = e2e_lab
    server = lab.server
    assert server is not None
    stack, node = f"uidrift{uuid.uuid4().hex[:6]}", lab.nodes[-1]
    path = tmp_path / "compose.yaml"
    path.write_text(f"services:\n  web:\n    image: {lab.images['web']}\n    deploy:\n"
                    "      replicas: 2\n")  # fmt: skip
    env = server_env(lab)
    fleetdeck("stack", "deploy", stack, "-f", str(path), "--env", node.name, env=env)
    try:
        docker(node, "rm", "-f", f"{stack}-web-2")
        page = retrying(lambda: login(browser, server.url, "admin", server.admin_password))
        goto(page, f"{server.url}/stacks/{stack}")
        page.get_by_role("tab", name="Services").click()
        state = page.locator("[data-drift-state]")
        expect(state).to_have_attribute("data-drift-state", "drifted", timeout=30_000)
        expect(page.locator("[data-drift-service=web]")).to_contain_text("1 of 2 replica(s)")
        shot(page, "stacks-drift")
        page.locator("[data-drift-policy]").select_option("revert")
        expect(page.locator("[data-drift-state]")).to_contain_text("in sync", timeout=90_000)
        assert docker(node, "ps", "-q", "--filter", f"name={stack}-web-2")
    finally:
        with client_for(lab) as client, contextlib.suppress(FleetdeckError):
            client.remove_stack(stack)
