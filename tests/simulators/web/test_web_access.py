"""The web handset in Chromium: *141*3*6# by clicking the keypad, PUK1 typed as on a phone,
the lock after five wrong PUK1s and its alert SMS in the inbox."""

from __future__ import annotations

import re
from typing import Any

from browser_world import DemoWorld
from handset_page import HandsetPage, menu_message, menu_screen
from playwright.sync_api import expect
from support import SECRETS, WRONG_PUKS

from sms.encoding import measure, ussd_limit
from ussd_gateway.process.demo import DEMO_SUBSCRIBERS

PUK1 = {d.msisdn: d.puk1 for d in DEMO_SUBSCRIBERS}


def label(text: str) -> str:
    """The status bar's encoding and length against the limit, computed here on our own."""
    m = measure(text)
    return f"{'UCS-2' if m.encoding == 'ucs2' else 'GSM-7'} {m.units}/{ussd_limit(m.encoding)}"


def test_close_and_reopen_with_puk1_by_clicking_the_keypad(
    page: Any, screenshot: Any, world: DemoWorld
) -> None:
    """Every screen is the menu's text exactly; the PUK1 is masked while typed and after."""
    phone = HandsetPage(page)
    phone.use("375291000001")
    open_menu = menu_screen("access", "menu_open")
    assert phone.keyed("*141*3*6#") == open_menu
    assert label(open_menu) in phone.status() and "CON" in phone.status()
    screenshot("menu")
    assert phone.keyed("1") == menu_screen("access", "confirm_close")
    closed = phone.keyed("1")
    assert closed == menu_screen("access", "closed_now") and phone.state() == "ended"
    assert phone.keyed("*141*3*6#") == menu_screen("access", "menu_closed")
    assert phone.keyed("2") == menu_screen("access", "ask_puk")
    entry = phone.part(".entry")
    expect(entry).to_have_attribute("type", "password")
    expect(phone.part(".secret-note")).to_be_visible()
    phone.press(PUK1["375291000001"])
    screenshot("puk1-typed")
    assert phone.send() == menu_screen("access", "opened") and phone.state() == "ended"
    expect(entry).to_have_attribute("type", "text")
    expect(entry).to_have_value("")
    timeline = phone.timeline()
    assert phone.hops() == 6 and timeline.count("<hidden>") >= 1
    for secret in (PUK1["375291000001"], SECRETS["native"]):
        assert secret not in timeline and secret not in page.content()
    assert "Bearer <hidden>" in timeline
    assert PUK1["375291000001"] not in world.log_text()  # gateway, web handset, smsc, mailbox


def test_five_wrong_puk1s_lock_and_the_alert_sms_reaches_the_inbox(
    page: Any, screenshot: Any, world: DemoWorld
) -> None:
    """Shortcuts dial straight to a screen; the fifth wrong PUK1 locks opening, and the alert
    the outbox worker sends shows in the subscriber's inbox (read from ussd-smsc)."""
    phone = HandsetPage(page)
    phone.use("375291000007")
    assert phone.shortcut("*141*3*6*1#") == menu_screen("access", "confirm_close")
    assert phone.keyed("1") == menu_screen("access", "closed_now")
    assert phone.shortcut("*141*3*6*2#") == menu_screen("access", "ask_puk")
    for left, wrong in zip(range(4, 0, -1), WRONG_PUKS, strict=False):
        notice = menu_message("access", "wrong_puk", attempts_left=left)
        assert phone.keyed(wrong) == menu_screen("access", "ask_puk", notice=notice)
    assert phone.keyed(WRONG_PUKS[4]) == menu_screen("access", "locked_now")
    alert = menu_message("access", "puk_lock_alert")
    expect(phone.inbox()).to_contain_text(alert, timeout=15_000)
    expect(phone.part(".inbox-count")).to_have_text(re.compile(r"\(1 for 375291000007\)"))
    assert [m["text"] for m in world.sms_to("375291000007")] == [alert]
    latest = phone.part(".timeline > li details").first
    latest.locator("summary").click()  # the last hop as it went over the wire, PUK1 masked
    expect(latest.locator(".wire.request")).to_contain_text('"text": "<hidden>"')
    screenshot("locked-alert-sms")
    assert not any(wrong in phone.timeline() for wrong in WRONG_PUKS)
