"""Subscriber numbers: every accepted spelling becomes one key, ``375XXXXXXXXX``.

Belarusian mobile numbers are +375, an operator code (25, 29, 33, 44) and seven digits.
Accepted spellings: ``+375 29 123-45-67``, ``375291234567``, ``00375 29 …`` (the
international prefix), ``+375 (029) …`` (country code with the national trunk 0),
``80291234567``, ``8 029 123 45 67``, ``(029) 1234567`` and the like; spaces, dashes,
dots and parentheses are ignored. Anything else is a :class:`InvalidMsisdn`.
"""

from __future__ import annotations

import re

from state.errors import InvalidMsisdn

OPERATOR_CODES: frozenset[str] = frozenset({"25", "29", "33", "44"})
COUNTRY_CODE = "375"

_SEPARATORS = re.compile(r"[\s\-.()]")
_MAX_RAW = 64  # a longer text is no phone number: refuse it before any work (even spaced out,
# "+375 (029) - 123 - 45 - 67" stays far below)


def normalize_msisdn(raw: str) -> str:
    """Return the canonical ``375XXXXXXXXX`` key of a subscriber number.

    Raises:
        InvalidMsisdn: if ``raw`` is not a number of an accepted operator code.
    """
    if not isinstance(raw, str) or not raw or len(raw) > _MAX_RAW:
        raise InvalidMsisdn(
            "a phone number is +375, an operator code (25, 29, 33, 44) and 7 digits"
        )
    digits = _SEPARATORS.sub("", raw)
    if digits.startswith("00" + COUNTRY_CODE):
        digits = "+" + digits[2:]  # 00 is the international prefix dialled from a handset
    if digits.startswith("+"):
        digits = digits[1:]
        if not digits.startswith(COUNTRY_CODE):
            raise InvalidMsisdn("only Belarusian numbers (+375) are accepted")
    if not digits.isascii() or not digits.isdigit():
        raise InvalidMsisdn("a phone number has digits only, with optional + and separators")
    if digits.startswith(COUNTRY_CODE):
        national = digits[len(COUNTRY_CODE) :]
        if len(national) == 10 and national.startswith("0"):
            national = national[1:]  # "+375 (029) …": the trunk 0 written after the country
    elif digits.startswith("80"):
        national = digits[2:]  # domestic trunk prefix 8 followed by 0 + operator code
    elif digits.startswith("0"):
        national = digits[1:]
    else:
        national = digits
    if len(national) != 9 or national[:2] not in OPERATOR_CODES:
        raise InvalidMsisdn(
            "a phone number is +375, an operator code (25, 29, 33, 44) and 7 digits"
        )
    return COUNTRY_CODE + national


def mask_msisdn(msisdn: str) -> str:
    """Hide the middle of a number for logs: ``375291234567`` → ``37529***4567``."""
    if len(msisdn) < 9:
        return "***"
    return f"{msisdn[:5]}***{msisdn[-4:]}"
