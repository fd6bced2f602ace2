"""Split a screen into pages that each fit one USSD-String, losing nothing.

A page is measured in its own encoding (GSM-7 septets with extension characters costing
two, or UTF-16 units), against the per-encoding limit. Every page but the last ends with
the "more" line (key ``98``), every page but the first with the "back" line (key ``00``);
those keys are reserved and no menu may use them. Lines are kept whole where they fit;
a line longer than a page is split at spaces, and a word longer than a page is split at
characters, so the concatenation of the pages' content is always the original text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sms.encoding import Encoding, measure, ussd_limit

NAV_MORE = "98"
NAV_BACK = "00"
RESERVED_KEYS = frozenset({NAV_MORE, NAV_BACK})

Limit = Callable[[Encoding], int]


@dataclass(frozen=True, slots=True)
class Navigation:
    """The localised labels of the reserved navigation lines."""

    more: str
    back: str

    def more_line(self) -> str:
        """The line that asks for the next page."""
        return f"{NAV_MORE}. {self.more}"

    def back_line(self) -> str:
        """The line that asks for the previous page."""
        return f"{NAV_BACK}. {self.back}"


def fits(text: str, limit: Limit = ussd_limit) -> bool:
    """Whether ``text`` fits one screen in its own encoding."""
    m = measure(text)
    return m.units <= limit(m.encoding)


def paginate(lines: list[str], nav: Navigation, limit: Limit = ussd_limit) -> list[str]:
    """Pages of ``lines`` (joined by newlines) with navigation lines where needed."""
    whole = "\n".join(lines)
    if fits(whole, limit):
        return [whole]
    # A text may hold line breaks of its own: each physical line is kept whole if it fits.
    lines = whole.split("\n")
    # Whitespace-only pieces carry nothing a handset can show; a page of them is noise.
    pieces = [p for line in lines for p in _pieces(line, nav, limit) if p.strip()]
    pages: list[list[str]] = []
    current: list[str] = []
    for piece in pieces:
        candidate = [*current, piece]
        # Reserve room for both navigation lines: any page may turn out to be a middle one.
        if current and not fits(_page(candidate, nav, first=not pages, last=False), limit):
            pages.append(current)
            current = [piece]
        else:
            current = candidate
    pages.append(current)
    return [
        _page(page, nav, first=i == 0, last=i == len(pages) - 1) for i, page in enumerate(pages)
    ]


def _page(lines: list[str], nav: Navigation, *, first: bool, last: bool) -> str:
    tail = ([] if last else [nav.more_line()]) + ([] if first else [nav.back_line()])
    return "\n".join(lines + tail)


def _room(nav: Navigation, text: str, limit: Limit) -> bool:
    """Whether ``text`` fits a middle page (both navigation lines) on its own."""
    return fits("\n".join([text, nav.more_line(), nav.back_line()]), limit)


def _pieces(line: str, nav: Navigation, limit: Limit) -> list[str]:
    if _room(nav, line, limit):
        return [line]
    out: list[str] = []
    current = ""
    for word in line.split(" "):
        candidate = f"{current} {word}" if current else word
        if _room(nav, candidate, limit):
            current = candidate
            continue
        if current:
            out.append(current)
        if _room(nav, word, limit):
            current = word
            continue
        # A single word longer than a page: split it by characters.
        current = ""
        for ch in word:
            if not current or _room(nav, current + ch, limit):
                current += ch  # a lone character always goes somewhere: never lost
            else:
                out.append(current)
                current = ch
    if current:
        out.append(current)
    return out
