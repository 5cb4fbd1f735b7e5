"""The browser every e2e module drives: one headless Debian Chromium per module.

Chromium runs in a network namespace of its own (see :mod:`tests.e2e.browser_netns`), so labs
coming up or going down beside the browser tests never abort its requests.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.e2e.browser_netns import browser_namespace
from tests.e2e.ui_helpers import CHROMIUM, CHROMIUM_ARGS

if TYPE_CHECKING:
    from collections.abc import Iterator


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
