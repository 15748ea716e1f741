"""Debian's Chromium driven by Playwright, for the browser tests (nothing is downloaded)."""

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]

# Put in a browser test module's `pytestmark`.
requires_chromium = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not shutil.which(CHROMIUM),
        reason=f"Debian's Chromium is not installed at {CHROMIUM} (apt-get install -y chromium)",
    ),
]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop on this thread for the whole module; the tests'
    # own ORM calls (and the database flush between tests) are still synchronous, so Django's
    # guard against ORM use inside an event loop does not apply here.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield launched
            launched.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def screenshot(page, name: str) -> None:
    """Save a full-page screenshot as artifacts/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def page_open(browser, timeout_ms: int = 15_000):
    """A page in a browser context of its own (its own cookies: another person)."""
    page = browser.new_context().new_page()
    page.set_default_timeout(timeout_ms)
    return page


def staff_signed_in_page(browser, live_server, user):
    """A page of its own, signed in on the portal as the staff `user` (the factories' password)."""
    from accounts.tests.factories import STAFF_PASSWORD

    page = page_open(browser)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", STAFF_PASSWORD)
    page.click("button:has-text('Sign in')")
    return page
