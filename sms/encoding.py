"""How many units a text costs on the air: GSM 03.38 7-bit or UCS-2.

One implementation serves USSD screens (182 septets / 80 UCS-2 characters in one
160-octet USSD-String) and SMS segments (160/153 septets, 70/67 UCS-2), so the
screen limit and the SMS segment count can never disagree about a character.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

# GSM 03.38 default alphabet, in code-point order (0x00..0x7F). 0x1B is the escape
# to the extension table and is not a character of its own.
_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Extension table: each costs an escape septet plus its own.
_EXTENSION = {
    "\x0c": 0x0A,
    "^": 0x14,
    "{": 0x28,
    "}": 0x29,
    "\\": 0x2F,
    "[": 0x3C,
    "~": 0x3D,
    "]": 0x3E,
    "|": 0x40,
    "€": 0x65,
}
_BASIC_CODES = {ch: i for i, ch in enumerate(_BASIC) if ch != "\x1b"}

USSD_OCTETS = 160
"""Octets in one MAP USSD-String."""


class Encoding(enum.StrEnum):
    """Data coding used on the air for a text."""

    GSM7 = "gsm7"
    UCS2 = "ucs2"


@dataclass(frozen=True, slots=True)
class Measure:
    """A text's encoding and its length in that encoding's units."""

    encoding: Encoding
    units: int
    """Septets for GSM-7, UTF-16 code units for UCS-2."""

    @property
    def octets(self) -> int:
        """Octets the text occupies once packed (7-bit packing for GSM-7)."""
        if self.encoding is Encoding.GSM7:
            return (self.units * 7 + 7) // 8
        return self.units * 2


def is_gsm7(text: str) -> bool:
    """Whether every character of ``text`` exists in the GSM-7 alphabet or its extension."""
    return all(ch in _BASIC_CODES or ch in _EXTENSION for ch in text)


def gsm7_septets(text: str) -> int:
    """Septets of ``text`` in GSM-7; extension characters cost two.

    Raises:
        ValueError: if a character has no GSM-7 representation.
    """
    total = 0
    for ch in text:
        if ch in _BASIC_CODES:
            total += 1
        elif ch in _EXTENSION:
            total += 2
        else:
            raise ValueError(f"character U+{ord(ch):04X} is not in GSM-7")
    return total


def ucs2_units(text: str) -> int:
    """UTF-16 code units of ``text``: a character outside the BMP costs two."""
    return len(text.encode("utf-16-be")) // 2


def measure(text: str) -> Measure:
    """Choose the cheapest encoding able to carry ``text`` and measure it."""
    if is_gsm7(text):
        return Measure(Encoding.GSM7, gsm7_septets(text))
    return Measure(Encoding.UCS2, ucs2_units(text))


def encode_gsm7(text: str) -> bytes:
    """Unpacked GSM-7 code points (one byte per septet), for tests and tracing.

    Raises:
        ValueError: if a character has no GSM-7 representation.
    """
    out = bytearray()
    for ch in text:
        if ch in _BASIC_CODES:
            out.append(_BASIC_CODES[ch])
        elif ch in _EXTENSION:
            out += bytes((0x1B, _EXTENSION[ch]))
        else:
            raise ValueError(f"character U+{ord(ch):04X} is not in GSM-7")
    return bytes(out)


_BASIC_BY_CODE = dict(enumerate(_BASIC))
_EXTENSION_BY_CODE = {code: ch for ch, code in _EXTENSION.items()}


def decode_gsm7(codes: bytes) -> str:
    """Text of unpacked GSM-7 code points (one byte per septet): the inverse of
    :func:`encode_gsm7`, for USSD strings read from the core network.

    Raises:
        ValueError: a code above 0x7F, or an escape followed by no extension character.
    """
    out: list[str] = []
    escaped = False
    for code in codes:
        if code > 0x7F:
            raise ValueError(f"0x{code:02X} is no GSM-7 septet")
        if escaped:
            if code not in _EXTENSION_BY_CODE:
                raise ValueError(f"escape then 0x{code:02X}: no GSM-7 extension character")
            out.append(_EXTENSION_BY_CODE[code])
            escaped = False
        elif code == 0x1B:
            escaped = True
        else:
            out.append(_BASIC_BY_CODE[code])
    if escaped:
        raise ValueError("an escape at the end of the text")
    return "".join(out)


def ussd_limit(encoding: Encoding) -> int:
    """Units of ``encoding`` that fit one USSD-String (182 septets, 80 UCS-2)."""
    if encoding is Encoding.GSM7:
        return USSD_OCTETS * 8 // 7
    return USSD_OCTETS // 2


def fits_ussd(text: str) -> bool:
    """Whether ``text`` fits one USSD screen in its own encoding."""
    m = measure(text)
    return m.units <= ussd_limit(m.encoding)
