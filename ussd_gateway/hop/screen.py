"""A screen of a hop: what an input means on it, and the reply that shows it.

The machine never sees an input its screen does not take: an unknown option or an input
that fails its pattern or length leaves the machine where it is, with a notice that
explains why the question is asked again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sms.encoding import Encoding
from ussd_gateway.dialects.model import UssdReply
from ussd_gateway.hop import paging
from ussd_gateway.menus.loader import Menu, MenuCatalog, Screen
from ussd_gateway.menus.model import MenuModel, Notice
from ussd_gateway.menus.paginate import paginate
from ussd_gateway.menus.render import fill, screen_lines


def event_for(screen: Screen, text: str, model: MenuModel) -> str | None:
    """The machine event ``text`` means on ``screen``, or None with the model's notice set
    (or nothing to send: a screen without options or input). What the option sets, or the
    input itself under its ``save_as``, is saved first: the event's actions read it."""
    if screen.options:
        option = screen.option(text.strip())
        if option is None:
            model.notice = Notice("invalid_choice")
            return None
        for name, value in option.sets.items():
            model.save(name, value)
        return option.event
    spec = screen.input
    if spec is None:
        return None
    too_long = spec.max_length is not None and len(text) > spec.max_length
    if too_long or (spec.pattern is not None and not spec.pattern.fullmatch(text)):
        model.notice = Notice(spec.invalid or "invalid_choice")
        return None
    if spec.save_as is not None:  # never a secret's: the checker refuses save_as beside it
        model.save(spec.save_as, text)
    return spec.event


def render(
    catalog: MenuCatalog, menu: Menu, model: MenuModel, lang: str, octets: int | None = None
) -> tuple[UssdReply, dict[str, Any], tuple[str, ...]]:
    """The reply for the model's state (its first page), the model's data to keep, and
    the screen's pages to keep (none when it fits one); pages fit ``octets`` when the
    channel carries fewer than a USSD-String's 160."""
    state = str(model.state)
    final = menu.ends_at(state)
    notice = None
    # A notice explains why a question is asked again; a final screen speaks for itself.
    if model.notice is not None and not final:
        notice = fill(catalog.message(menu, model.notice.key, lang), model.notice.values)
    screen = menu.screens[state]
    values = model.values() if screen.shows_values else {}
    lines = screen_lines(screen, lang, notice=notice, values=values)
    pages = paginate(lines, catalog.navigation(lang), _limit(menu, octets))
    # A finished dialogue keeps nothing it was holding (a pending password hash), even
    # while its last screen's pages are still being read.
    data: dict[str, Any] = {} if final else dict(model.data)
    return paging.show(pages, 0, final), data, tuple(pages) if len(pages) > 1 else ()


def _limit(menu: Menu, octets: int | None) -> Callable[[Encoding], int]:
    if octets is None:
        return menu.limit
    channel = {Encoding.GSM7: octets * 8 // 7, Encoding.UCS2: octets // 2}
    return lambda encoding: min(menu.limit(encoding), channel[encoding])
