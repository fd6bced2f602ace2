"""The pages of a long screen: which one a hop shows, and whether showing it ends the session.

A screen longer than one USSD message (182 GSM-7 characters or 80 UCS-2 units, or the
menu's lower ``service.limit``) is cut into pages (``menus/paginate.py``), every page but
the last offering ``98`` (more) and every page but the first ``00`` (back). The pages are
kept on the session (``UssdSession.pages``, ``page``), so turning a page needs neither the
machine nor a render.
"""

from __future__ import annotations

from collections.abc import Sequence

from ussd_gateway.dialects.model import UssdReply
from ussd_gateway.menus.paginate import NAV_BACK, NAV_MORE
from ussd_gateway.menus.render import reply


def turn(pages: Sequence[str], page: int, text: str, final: bool) -> int | None:
    """The page that ``text`` shows when page ``page`` of ``pages`` is on the handset, or
    None when ``text`` is an input for the machine (or there are no pages).

    ``98``/``00`` turn the page while there is one that way. On a final screen anything
    else shows the same page again: the machine has nothing left to answer.
    """
    if not pages:
        return None
    target = page + 1 if text == NAV_MORE else page - 1 if text == NAV_BACK else None
    if target is not None and 0 <= target < len(pages):
        return target
    return page if final else None


def show(pages: Sequence[str], page: int, final: bool) -> UssdReply:
    """Page ``page`` of a screen; ``final``: the screen ends the session
    (``Menu.ends_at``), which it does with its last page, once every page could be read."""
    return reply(pages[page], ends=final and page == len(pages) - 1)
