"""How many SMS a text takes, by encoding: GSM-7 160 / 153, UCS-2 70 / 67 (TS 23.040).

A text that fits one SMS goes alone: 160 septets in GSM-7, 70 UTF-16 units in UCS-2. A
longer one is concatenated: each part loses 6 octets to the UDH (``05 00 03 ref total
seq``), leaving 153 septets or 67 UCS-2 units. A part never ends between the escape
septet and the character of the GSM-7 extension table it introduces, nor between the
two halves of a UTF-16 surrogate pair; such a character moves whole to the next part.

Nothing here shortens a text: a message over the configured maximum is refused with
:class:`TooLong` and the caller decides what to do. The encoding choice and the cost of
each character come from :mod:`sms.encoding`, so USSD screens and SMS agree.
"""

from __future__ import annotations

from dataclasses import dataclass

from sms.encoding import Encoding, gsm7_septets, is_gsm7
from sms.errors import TooLong

__all__ = [
    "PART_UNITS",
    "SINGLE_UNITS",
    "Segments",
    "TooLong",
    "check_fits",
    "count_segments",
    "split_segments",
]

SINGLE_UNITS = {Encoding.GSM7: 160, Encoding.UCS2: 70}
"""Units one unconcatenated SMS carries."""
PART_UNITS = {Encoding.GSM7: 153, Encoding.UCS2: 67}
"""Units each part of a concatenated SMS carries (6 octets go to the UDH)."""


@dataclass(frozen=True, slots=True)
class Segments:
    """A text's encoding, its length in that encoding's units, and the SMS it takes."""

    encoding: Encoding
    units: int
    """Septets (an extension character costs two) or UTF-16 code units."""
    segments: int
    """SMS needed; an empty text still takes one."""


def _costs(text: str) -> tuple[Encoding, list[int]]:
    if is_gsm7(text):
        return Encoding.GSM7, [gsm7_septets(ch) for ch in text]
    # A character outside the BMP is a surrogate pair: two units that stay together.
    return Encoding.UCS2, [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def split_segments(text: str) -> list[str]:
    """The parts ``text`` is sent as, in order; joined they give ``text`` back."""
    encoding, costs = _costs(text)
    if sum(costs) <= SINGLE_UNITS[encoding]:
        return [text]
    limit = PART_UNITS[encoding]
    parts: list[str] = []
    start = used = 0
    for index, cost in enumerate(costs):
        if used + cost > limit:
            parts.append(text[start:index])
            start, used = index, 0
        used += cost
    parts.append(text[start:])
    return parts


def count_segments(text: str) -> Segments:
    """Encoding, units and number of SMS of ``text``."""
    encoding, costs = _costs(text)
    units = sum(costs)
    if units <= SINGLE_UNITS[encoding]:
        return Segments(encoding, units, 1)
    return Segments(encoding, units, len(split_segments(text)))


def check_fits(text: str, max_segments: int) -> Segments:
    """The segments of ``text``, if it takes at most ``max_segments`` SMS.

    Raises:
        TooLong: it takes more; the text is never shortened to fit.
    """
    counted = count_segments(text)
    if counted.segments > max_segments:
        raise TooLong(counted.segments, max_segments)
    return counted
