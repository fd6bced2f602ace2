"""Fixtures of the browser tests: one demo world for the package, one Chromium per module.

Starting the processes takes a few seconds, so every test of ``tests/simulators/web``
shares them (each test dials its own demo subscriber, see the table in ``handset_page.py``).
The browser is per module: Playwright's sync API keeps an event loop running in the
test's thread while it is open, which the asyncio tests of other modules must not meet.
Each test gets a fresh browser context, so no page state carries over.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_world import SCREENSHOTS, DemoWorld, require_chromium
from handset_page import HandsetPage


@pytest.fixture(scope="session")
def chromium() -> str:
    return require_chromium()


@pytest.fixture(scope="package")
def world(chromium: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoWorld]:
    """The gateway with demo data, ussd-smsc, ussd-mailbox and ussd-handset web, running."""
    running = DemoWorld(tmp_path_factory.mktemp("web-handset"))
    try:
        running.start()
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Any]:
    from playwright.sync_api import expect, sync_playwright

    # A hop and the panels' refresh take milliseconds; the margin is for a loaded CI machine.
    expect.set_options(timeout=15_000)

    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start; a small
        # /dev/shm in a container must not crash it either.
        launched = playwright.chromium.launch(
            executable_path=chromium, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, world: DemoWorld) -> Iterator[Any]:
    """A fresh tab on the web handset, the page loaded; its console errors fail the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    tab.goto(world.web_url + "/")
    HandsetPage(tab).wait_ready()
    yield tab
    context.close()
    assert not errors, f"the page logged errors: {errors}"


@pytest.fixture
def screenshot(page: Any) -> Any:
    """Save the page as ``var/screenshots/web-handset-<name>.png``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> Path:
        path = SCREENSHOTS / f"web-handset-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
