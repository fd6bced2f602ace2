"""The web handset in Chromium on the aggregators' dialects: an English subscriber over
Africa's Talking (cumulative text on the wire), a long menu paged with 98/00 over Hubtel."""

from __future__ import annotations

from typing import Any

from browser_world import DemoWorld
from handset_page import HandsetPage, menu_screen
from support import SECRETS

from sms.encoding import measure, ussd_limit


def test_english_subscriber_over_africas_talking(page: Any, world: DemoWorld) -> None:
    """English screens, exactly the menu's; the wire shows AT's cumulative text and no secret."""
    phone = HandsetPage(page)
    phone.use("375331000002", "africastalking")
    assert phone.keyed("*141*3*6#") == menu_screen("access", "menu_open", "en")
    assert phone.keyed("1") == menu_screen("access", "confirm_close", "en")
    assert phone.keyed("2") == menu_screen("access", "kept_open", "en")
    timeline = phone.timeline()
    assert "/ussd/africastalking" in timeline and "text=1*2" in timeline
    assert "CON Access to your self-service account is open." in timeline
    assert "Bearer <hidden>" in timeline and SECRETS["africastalking"] not in page.content()


def test_long_menu_paged_with_98_and_00_over_hubtel(
    page: Any, screenshot: Any, world: DemoWorld
) -> None:
    """Each page fits and says which it is; 98 and 00 turn them; every option is on one."""
    phone = HandsetPage(page)
    phone.use("375291000005", "hubtel")
    pages = [phone.keyed("*141*9#")]
    assert "page 1" in phone.status() and "98 more" in phone.status()
    screenshot("paged")
    while "98. Далее" in pages[-1]:
        pages.append(phone.keyed("98"))
        assert f"page {len(pages)}" in phone.status()
    assert len(pages) > 1 and "00 back" in phone.status()
    for text in pages:
        m = measure(text)
        assert m.units <= ussd_limit(m.encoding)
    shown = "\n".join(pages)
    for key in range(1, 10):
        assert shown.count(f"\n{key}. ") == 1
    assert phone.keyed("00") == pages[-2] and f"page {len(pages) - 1}" in phone.status()
    assert phone.keyed("9") == menu_screen("help", "shown") and phone.state() == "ended"
    assert '"Type": "Initiation"' in phone.timeline() and SECRETS["hubtel"] not in page.content()
