"""What the browser tests share: Debian's Chromium, logging in through the form, screenshots."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, Page, expect

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


def shot(page: Page, name: str) -> None:
    """Save a full-page screenshot as ``artifacts/screenshots/NAME.png``."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")  # else the sticky top bar is drawn mid-page
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
