"""The web handset in Chromium: *141*0# typed on the computer's keyboard, a weak password
refused first; the password is in no timeline, recording, URL, history or log."""

from __future__ import annotations

import re
from typing import Any

from browser_world import DemoWorld
from handset_page import HandsetPage, menu_message, menu_screen
from playwright.sync_api import expect
from support import PASSWORDS

WEAK = "12345678"
PASSWORD = PASSWORDS[4]  # in the run's secret scan (tests/support.py)


def test_password_set_after_a_refused_weak_one_and_never_shown(
    page: Any, screenshot: Any, world: DemoWorld
) -> None:
    """The weak password is refused with the reason, the strong one set; none is kept."""
    phone = HandsetPage(page)
    history = page.evaluate("history.length")  # about:blank, then the page
    phone.use("375291000006")
    assert phone.shortcut("*141*0#") == menu_screen("password", "ask_password")
    expect(phone.part(".entry")).to_have_attribute("type", "password")
    refused = menu_screen("password", "ask_password", notice=menu_message("password", "password_common"))
    assert phone.typed(WEAK) == refused
    phone.part(".entry").press_sequentially(PASSWORD)
    screenshot("password-typed")
    phone.part(".entry").press("Enter")
    phone.settle()
    assert phone.screen() == menu_screen("password", "confirm_password")
    assert phone.typed(PASSWORD) == menu_screen("password", "done")
    assert phone.state() == "ended"
    timeline = phone.timeline()
    assert phone.hops() == 4 and timeline.count("<hidden>") >= 3
    recorded = str(phone.part(".recorded").text_content())
    assert 'send: "<hidden>"' in recorded
    for secret in (PASSWORD, WEAK):
        assert secret not in timeline and secret not in recorded
        assert secret not in page.content()
    assert PASSWORD not in world.log_text()
    # Nothing typed went into the address bar or the session history.
    assert page.url == world.web_url + "/"
    assert page.evaluate("history.length") == history


def test_a_temporary_password_letter_shows_in_the_mailbox(
    page: Any, screenshot: Any, world: DemoWorld
) -> None:
    """A forgotten password's letter, as the loopback SMTP server got it, without a reload."""
    assert world.forgot_password("375291000006") == 202
    letters = page.locator("#letters")
    expect(letters).to_contain_text("it@vasilek.example.by", timeout=15_000)
    expect(letters).to_contain_text("Восстановление данных для доступа в Личный кабинет")
    expect(letters.locator(".letter-text")).to_contain_text(re.compile(r"[A-Za-z0-9]{12}"))
    screenshot("mailbox")
