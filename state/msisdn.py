"""Subscriber numbers: every accepted spelling becomes one key, country code + national number.

What a number of ours looks like is a :class:`NumberingPlan`: the country code, the national
(trunk) prefixes dialled at home, the length of the national number and the operator's own
ranges. :data:`BELARUS` is the default: +375, an operator code (25, 29, 33, 44) and seven
digits. Accepted spellings: ``+375 29 123-45-67``, ``375291234567``, ``00375 29 …`` (the
international prefix), ``+375 (029) …`` (country code with the trunk 0), ``80291234567``,
``8 029 123 45 67``, ``(029) 1234567`` and the like; spaces, dashes, dots and parentheses are
ignored. Anything else is a :class:`InvalidMsisdn`.

The plan is process-wide: the dialects, the field reader, the MO parser and the importer call
:func:`normalize_msisdn` in many places, and one process serves one operator. The composition
root installs the configured plan once at start-up (:func:`install_plan`); until then, and
wherever nothing was configured, it is :data:`BELARUS`. Tests that try another plan use
:func:`using_plan`, which puts the previous one back. Every function also takes ``plan=``
explicitly.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache

from state.errors import InvalidMsisdn

_DIGITS = re.compile(r"[0-9]+")
E164_MAX_DIGITS = 15
"""ITU-T E.164: a country code and a national number are at most 15 digits together."""


@dataclass(frozen=True, slots=True)
class NumberingPlan:
    """The numbers the gateway accepts as its operator's subscribers'.

    Raises:
        ValueError: (at construction) a plan that would misread numbers; the message names
            the part.
    """

    country_code: str
    """Digits after ``+``: ``"375"``."""
    trunk_prefixes: tuple[str, ...]
    """National prefixes dialled at home before the number: ``("80", "0")``; the shortest may
    also follow the country code (``+375 (029) …``)."""
    national_digits: int
    """Digits after the country code: the operator range and the subscriber number (9)."""
    operator_ranges: tuple[str, ...]
    """The operator's own ranges, the first digits of the national number: ``("25", "29")``."""
    name: str = ""
    """An adjective for messages ("Belarusian"); empty: the messages name the country code."""
    kept_when_masked: int = field(init=False, repr=False, compare=False)
    """Leading digits a masked number keeps: the country code and the (shortest) range."""
    trunks_longest_first: tuple[str, ...] = field(init=False, repr=False, compare=False)
    """The trunk prefixes in the order a spelling is read against them."""

    def __post_init__(self) -> None:
        cc, ranges, trunks = self.country_code, self.operator_ranges, self.trunk_prefixes
        if not _DIGITS.fullmatch(cc) or len(cc) > 3 or cc.startswith("0"):
            raise ValueError("country_code is one to three digits, not starting with 0")
        if not 6 <= self.national_digits <= E164_MAX_DIGITS - len(cc):
            raise ValueError(
                f"national_digits is between 6 and {E164_MAX_DIGITS - len(cc)} "
                f"(E.164: at most {E164_MAX_DIGITS} digits with the country code)"
            )
        if not ranges:
            raise ValueError("operator_ranges names at least one range")
        for r in ranges:
            # A masked number keeps the range and four last digits and hides at least one.
            if not _DIGITS.fullmatch(r) or not 1 <= len(r) <= self.national_digits - 5:
                raise ValueError(
                    "each operator range is digits, at least 5 fewer than national_digits"
                )
        for t in trunks:
            if not _DIGITS.fullmatch(t):
                raise ValueError("each trunk prefix is digits")
        # A spelling is read by its first digits: country code, else a trunk prefix, else a
        # bare national number. A range that began like either would be misread.
        for r in ranges:
            if r.startswith(cc) or cc.startswith(r):
                raise ValueError(f"operator range {r} overlaps the country code {cc}")
            for t in trunks:
                if r.startswith(t) or t.startswith(r):
                    raise ValueError(f"operator range {r} overlaps the trunk prefix {t}")
        for t in trunks:
            if t.startswith(cc) or cc.startswith(t):
                raise ValueError(f"trunk prefix {t} overlaps the country code {cc}")
        # Derived once: every hop masks a number and normalises one (frozen: set directly).
        kept = len(cc) + min(len(r) for r in ranges)
        object.__setattr__(self, "kept_when_masked", kept)
        longest_first = tuple(sorted(trunks, key=len, reverse=True))
        object.__setattr__(self, "trunks_longest_first", longest_first)

    @property
    def own_prefixes(self) -> tuple[str, ...]:
        """The operator's ranges as key prefixes: ``("37525", "37529", …)``."""
        return tuple(self.country_code + r for r in self.operator_ranges)

    def refusal(self) -> str:
        """What a number of ours is, for :class:`InvalidMsisdn` messages."""
        lengths = {len(r) for r in self.operator_ranges}
        codes = ", ".join(self.operator_ranges)
        if len(lengths) == 1:
            rest = self.national_digits - lengths.pop()
            return (
                f"a phone number is +{self.country_code}, an operator code ({codes}) "
                f"and {rest} digits"
            )
        return (
            f"a phone number is +{self.country_code} and {self.national_digits} digits "
            f"starting with an operator code ({codes})"
        )

    def foreign(self) -> str:
        """The refusal of another country's number."""
        if self.name:
            return f"only {self.name} numbers (+{self.country_code}) are accepted"
        return f"only numbers of +{self.country_code} are accepted"


BELARUS = NumberingPlan(
    country_code="375",
    trunk_prefixes=("80", "0"),  # 8, the long-distance tone, 0 + code; or just 0 + code
    national_digits=9,
    operator_ranges=("25", "29", "33", "44"),
    name="Belarusian",
)
"""The default plan: A1's ranges in Belarus."""

_current = BELARUS


def current_plan() -> NumberingPlan:
    """The process's plan (:data:`BELARUS` unless one was installed)."""
    return _current


def install_plan(plan: NumberingPlan) -> NumberingPlan:
    """Make ``plan`` the process's plan (once, at start-up); returns the one it replaces."""
    global _current
    previous, _current = _current, plan
    return previous


@contextmanager
def using_plan(plan: NumberingPlan) -> Iterator[NumberingPlan]:
    """``plan`` inside the block, the previous plan again after it (for tests and tools)."""
    previous = install_plan(plan)
    try:
        yield plan
    finally:
        install_plan(previous)


_SEPARATORS = re.compile(r"[\s\-.()]")
_MAX_RAW = 64  # a longer text is no phone number: refuse it before any work (even spaced out,
# "+375 (029) - 123 - 45 - 67" stays far below)


def normalize_msisdn(raw: str, plan: NumberingPlan | None = None) -> str:
    """Return the canonical key (``375XXXXXXXXX``) of a subscriber number.

    Raises:
        InvalidMsisdn: if ``raw`` is not a number of one of the plan's operator ranges.
    """
    plan = plan or _current
    if not isinstance(raw, str) or not raw or len(raw) > _MAX_RAW:
        raise InvalidMsisdn(plan.refusal())
    cc = plan.country_code
    digits = _SEPARATORS.sub("", raw)
    if digits.startswith("00" + cc):
        digits = "+" + digits[2:]  # 00 is the international prefix dialled from a handset
    if digits.startswith("+"):
        digits = digits[1:]
        if not digits.startswith(cc):
            raise InvalidMsisdn(plan.foreign())
    if not digits.isascii() or not digits.isdigit():
        raise InvalidMsisdn("a phone number has digits only, with optional + and separators")
    national = _national(digits, plan)
    if len(national) != plan.national_digits or not national.startswith(plan.operator_ranges):
        raise InvalidMsisdn(plan.refusal())
    return cc + national


def _national(digits: str, plan: NumberingPlan) -> str:
    """The national number in ``digits``: after the country code or a trunk prefix, or as is.

    Only the first reading is tried (the longest trunk prefix first), so every spelling has
    one reading and the plan's checks guarantee no range starts like a prefix.
    """
    cc = plan.country_code
    trunks = plan.trunks_longest_first
    if digits.startswith(cc):
        national = digits[len(cc) :]
        if trunks:
            zero = trunks[-1]  # "+375 (029) …": the shortest trunk prefix after the country
            if len(national) == plan.national_digits + len(zero) and national.startswith(zero):
                national = national[len(zero) :]
        return national
    for trunk in trunks:
        if digits.startswith(trunk):
            return digits[len(trunk) :]
    return digits


def mask_msisdn(msisdn: str, plan: NumberingPlan | None = None) -> str:
    """Hide the middle of a number for logs: ``375291234567`` → ``37529***4567``."""
    keep = (plan or _current).kept_when_masked
    if len(msisdn) < keep + 4:
        return "***"
    return f"{msisdn[:keep]}***{msisdn[-4:]}"


@lru_cache(maxsize=8)
def full_number_pattern(plan: NumberingPlan) -> re.Pattern[str]:
    """A full key of ``plan`` inside a text (for log redaction): group 1 the kept head,
    group 2 the last four digits; whatever the range, as a foreign-range key is a number too."""
    kept = plan.kept_when_masked - len(plan.country_code)
    hidden = plan.national_digits - kept - 4
    return re.compile(rf"(?<!\d)({plan.country_code}\d{{{kept}}})\d{{{hidden}}}(\d{{4}})(?!\d)")
