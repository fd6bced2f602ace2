"""The web handset in Chromium without a mouse, and two phones side by side."""

from __future__ import annotations

from typing import Any

from browser_world import DemoWorld
from handset_page import HandsetPage, menu_screen
from playwright.sync_api import expect


def test_keyboard_only(page: Any, screenshot: Any, world: DemoWorld) -> None:
    """Tab reaches the subscriber, the dialect and the handset; Enter sends, Escape cancels,
    the keypad and the red key work from the keyboard too."""
    phone = HandsetPage(page)
    keys = page.keyboard
    keys.press("Tab")  # the "two phones" switch
    keys.press("Tab")
    expect(phone.part(".msisdn")).to_be_focused()
    keys.press("Control+A")
    keys.type("375251000004")
    keys.press("Tab")  # leaving the field picks the subscriber
    expect(phone.part(".dialect")).to_be_focused()
    keys.press("Tab")
    expect(phone.part(".entry")).to_be_focused()
    phone.settle()
    expect(phone.part(".subscriber-note")).to_contain_text("closed by the organisation")
    keys.type("*141*9#")
    keys.press("Enter")
    phone.settle()
    first = phone.screen()
    assert first.startswith("Выберите тему справки:") and "page 1" in phone.status()
    keys.type("98")
    keys.press("Enter")
    phone.settle()
    assert "page 2" in phone.status() and "00. Назад" in phone.screen()
    keys.type("00")
    keys.press("Enter")
    phone.settle()
    assert phone.screen() == first
    keys.press("Escape")
    phone.settle()
    assert phone.state() == "cancelled"
    keys.type("*141*3*6#")
    keys.press("Enter")
    phone.settle()
    assert phone.screen() == menu_screen("access", "closed_by_organisation")
    screenshot("keyboard")
    # Tab on to the red key: entry → delete → green → cancel → red.
    for _ in range(4):
        keys.press("Tab")
    expect(phone.part(".end")).to_be_focused()
    keys.press("Enter")
    phone.settle()
    assert phone.state() == "idle"
    # A keypad key typed from the keyboard while it has the focus.
    keys.press("Tab")
    expect(phone.part('.keypad button[data-key="1"]')).to_be_focused()
    keys.press("Enter")
    keys.type("41#")
    expect(phone.part(".entry")).to_have_value("141#")


def test_two_phones_one_subscriber_two_sessions(
    page: Any, screenshot: Any, world: DemoWorld
) -> None:
    """Two sessions of one subscriber side by side: each its own screens and timeline, and
    cancelling one leaves the other running."""
    first = HandsetPage(page, 1)
    page.locator("#two-phones").check()
    second = HandsetPage(page, 2)
    second.settle()
    first.use("375331000002")
    second.use("375331000002")
    menu = menu_screen("access", "menu_open", "en")
    assert first.keyed("*141*3*6#") == menu
    assert second.keyed("*141*3*6#") == menu
    assert first.keyed("1") == menu_screen("access", "confirm_close", "en")
    screenshot("two-phones")
    first.cancel()
    assert first.state() == "cancelled" and second.state() == "running"
    assert second.keyed("2") == menu_screen("access", "already_open", "en")
    assert first.hops() == 3 and second.hops() == 2
    assert '"op": "abort"' in first.timeline() and '"op": "abort"' not in second.timeline()


def test_readable_at_a_phone_width(page: Any, screenshot: Any, world: DemoWorld) -> None:
    """At 390 px the handset comes first, whole, and nothing scrolls sideways."""
    page.set_viewport_size({"width": 390, "height": 844})
    phone = HandsetPage(page)
    phone.use("375251000004")
    assert phone.keyed("*141*3*6#") == menu_screen("access", "closed_by_organisation")
    handset = phone.part(".handset").bounding_box()
    assert handset is not None and handset["x"] >= 0 and handset["x"] + handset["width"] <= 390
    timeline = phone.part(".timeline-box").bounding_box()
    assert timeline is not None and timeline["y"] > handset["y"] + handset["height"]
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot("phone-width")
