"""The web handset page as the browser tests drive it: phones, keys, screens, panels.

Which demo subscriber each test dials (they share one gateway, so none may undo another's):

==============  ==========================================
375291000001    close access and reopen it with PUK1
375291000007    five wrong PUK1s: locked, the alert SMS
375291000006    a password set, a weak one refused first
375331000002    English, Africa's Talking; two phones
375291000005    Hubtel, the long help menu paged
375441000003    record, save, replay
375251000004    keyboard only
==============  ==========================================
"""

from __future__ import annotations

import re
from typing import Any

from browser_world import HELP_MENU
from playwright.sync_api import expect

from ussd_gateway.menus.check.files import default_menu_paths
from ussd_gateway.menus.loader import load_catalog

CATALOG = load_catalog([*default_menu_paths(), HELP_MENU])


def menu_screen(menu: str, state: str, lang: str = "ru", notice: str | None = None) -> str:
    """The text ``menus/<menu>.yaml`` gives ``state``: notice, text, then numbered options."""
    screen = CATALOG.menus[menu].screens[state]
    lines = [notice] if notice else []
    lines.append(_pick(dict(screen.text), lang))
    lines += [f"{o.key}. {_pick(dict(o.label), lang)}" for o in screen.options]
    return "\n".join(lines)


def menu_message(menu: str, key: str, lang: str = "ru", **values: object) -> str:
    text = _pick(dict(CATALOG.menus[menu].messages[key]), lang)
    for name, value in values.items():
        text = text.replace("{" + name + "}", str(value))
    return text


def _pick(texts: dict[str, str], lang: str) -> str:
    return texts.get(lang) or texts["ru"]


class HandsetPage:
    """The page, and one of its phones (``index`` 1 or 2)."""

    def __init__(self, page: Any, index: int = 1) -> None:
        self.page = page
        self.root = page.locator(f"#phone-{index}")

    def wait_ready(self) -> None:
        expect(self.page.locator("body")).to_have_attribute("data-ready", "true")
        self.settle()

    def settle(self) -> None:
        """Wait until the last action's outcome is on the screen and in every panel."""
        expect(self.root).to_have_attribute("data-busy", "false")

    def part(self, selector: str) -> Any:
        return self.root.locator(selector)

    def use(self, msisdn: str, dialect: str = "native") -> None:
        """Pick the subscriber and the dialect."""
        self.part(".msisdn").fill(msisdn)
        self.part(".msisdn").dispatch_event("change")
        self.settle()
        self.part(".dialect").select_option(dialect)
        self.settle()
        expect(self.part(".dialect")).to_have_value(dialect)

    def press(self, keys: str) -> None:
        """Click keypad keys."""
        for key in keys:
            self.part(f'.keypad button[data-key="{key}"]').click()

    def send(self) -> str:
        """The green key (Dial when idle); the screen afterwards."""
        self.part(".send").click()
        self.settle()
        return self.screen()

    def keyed(self, keys: str) -> str:
        """Keys on the keypad, then the green key."""
        self.press(keys)
        return self.send()

    def cancel(self) -> None:
        self.part(".cancel").click()
        self.settle()

    def end(self) -> None:
        self.part(".end").click()
        self.settle()

    def screen(self) -> str:
        return str(self.part(".screen-text").inner_text())

    def status(self) -> str:
        return str(self.part(".status-bar").inner_text())

    def state(self) -> str:
        return str(self.root.get_attribute("data-state"))

    def timeline(self) -> str:
        """Everything the timeline holds, folded entries too."""
        return str(self.part(".timeline").text_content())

    def hops(self) -> int:
        return int(self.part(".timeline > li").count())

    def shortcut(self, code: str) -> str:
        """Click a shortcut button; the screen afterwards."""
        exact = re.compile(f"^{re.escape(code)}$")
        self.part(".shortcut").filter(has_text=exact).click()
        self.settle()
        return self.screen()

    def typed(self, text: str) -> str:
        """Type ``text`` on the computer's keyboard into the phone, then Enter."""
        self.part(".entry").press_sequentially(text)
        self.part(".entry").press("Enter")
        self.settle()
        return self.screen()

    def inbox(self) -> Any:
        return self.part(".inbox")
