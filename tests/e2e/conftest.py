"""The browser every e2e module drives: one headless Debian Chromium per module.

Chromium runs in a network namespace of its own (see :mod:`tests.e2e.browser_netns`), so labs
coming up or going down beside the browser tests never abort its requests.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Browser, sync_playwright

from fleetdeck.lab import Lab
from tests.e2e.browser_netns import browser_namespace
from tests.e2e.ui_helpers import CHROMIUM, CHROMIUM_ARGS

if TYPE_CHECKING:
    from collections.abc import Iterator

    from fleetdeck.lab import LabRecord


@pytest.fixture(scope="session")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An executable that starts Debian's Chromium in the browser's own network namespace."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/setup.sh (apt-get install chromium)")
    with browser_namespace(CHROMIUM, tmp_path_factory.mktemp("browser")) as executable:
        yield executable


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Browser]:
    """Chromium, launched headless."""
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture(scope="module")
def e2e_lab(request: pytest.FixtureRequest) -> LabRecord:
    """``fleet3``, or (to iterate on the UI) the running lab named by FLEETDECK_E2E_LAB."""
    existing = os.environ.get("FLEETDECK_E2E_LAB")
    record: LabRecord = (
        Lab(existing).require_record() if existing else request.getfixturevalue("fleet3")
    )
    assert record.server is not None
    return record
