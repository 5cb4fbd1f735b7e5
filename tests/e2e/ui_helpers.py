"""What the browser tests share: Debian's Chromium, logging in through the form, screenshots."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from playwright.sync_api import Browser, Page, expect
from playwright.sync_api import Error as PlaywrightError

if TYPE_CHECKING:
    from collections.abc import Callable

T = TypeVar("T")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


def login(browser: Browser, url: str, user: str, password: str, **context: object) -> Page:
    """A page in a fresh browser context, logged in to the server at ``url`` via the form."""
    ctx = browser.new_context(ignore_https_errors=True, **context)  # type: ignore[arg-type]
    page = ctx.new_page()
    page.set_default_timeout(15000)
    page.goto(url + "/")
    expect(page).to_have_url(url + "/login?next=%2F")
    page.get_by_label("Username").fill(user)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    # Password hashing is deliberately slow; on a loaded 2-core machine it takes seconds.
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible(timeout=30000)
    return page


def retrying(work: Callable[[], T]) -> T:
    """Run a navigation again when Chromium saw a network change.

    Labs add and remove veths on this machine while tests run; Chromium then aborts a
    navigation in flight with net::ERR_NETWORK_CHANGED, which says nothing about fleetdeck.
    """
    for _ in range(3):
        try:
            return work()
        except PlaywrightError as exc:
            if "ERR_NETWORK_CHANGED" not in str(exc):
                raise
    return work()


def wait_until(page: Page, condition: str, timeout: float = 10.0) -> None:
    """Poll a JavaScript function (``"() => …"``) on ``page`` until it returns true.

    Instead of ``page.wait_for_function``, which compiles its predicate with ``new Function``
    inside the page: the UI's Content-Security-Policy forbids that (no ``unsafe-eval``), while
    ``page.evaluate`` runs through the DevTools protocol, which CSP does not govern.
    """
    deadline = time.monotonic() + timeout
    while not page.evaluate(condition):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout} s: {condition}")
        page.wait_for_timeout(100)


def goto(page: Page, url: str) -> None:
    """``page.goto`` that survives a network change (see :func:`retrying`)."""
    retrying(lambda: page.goto(url))


def shot(page: Page, name: str) -> None:
    """Save a full-page screenshot as ``artifacts/screenshots/NAME.png``."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")  # else the sticky top bar is drawn mid-page
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
