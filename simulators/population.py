"""The benchmark's subscribers: numbers and PUK1s computed from an index, never stored.

The load tool must know each subscriber's PUK1 to open access, and the seeding step (and the
bare reference server) must agree with it; a formula both sides share is the whole
contract. The numbers sit in the 37529 range, which the gateway's code policy accepts.
"""

from __future__ import annotations

PREFIX = "37529"
_DIGITS = 7
_PUK_MULTIPLIER = 7919
"""A prime: consecutive subscribers get unrelated-looking PUK1s."""


def msisdn(index: int) -> str:
    """The number of subscriber ``index`` (0 ≤ index < 10**7)."""
    if not 0 <= index < 10**_DIGITS:
        raise ValueError(f"subscriber index {index} out of range")
    return f"{PREFIX}{index:0{_DIGITS}d}"


def index_of(number: str) -> int | None:
    """The index of a benchmark number in its international form, or None."""
    digits = number.lstrip("+")
    if len(digits) != len(PREFIX) + _DIGITS or not digits.startswith(PREFIX):
        return None
    tail = digits[len(PREFIX) :]
    return int(tail) if tail.isdigit() else None


def puk(index: int) -> str:
    """The right PUK1 of subscriber ``index`` (8 digits)."""
    return f"{(index * _PUK_MULTIPLIER + 10_000_019) % 10**8:08d}"


def wrong_puk(index: int) -> str:
    """An 8-digit PUK1 that is certainly not subscriber ``index``'s."""
    right = int(puk(index))
    return f"{(right + 1) % 10**8:08d}"
