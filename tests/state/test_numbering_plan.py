"""A second numbering plan (+233, Ghana-like, as Hubtel's callers have): the same properties
as Belarus's, and a process-wide plan that tests can set and restore."""

from __future__ import annotations

import re
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from state.errors import InvalidMsisdn
from state.msisdn import (
    BELARUS,
    NumberingPlan,
    current_plan,
    full_number_pattern,
    install_plan,
    mask_msisdn,
    normalize_msisdn,
    using_plan,
)

GHANA = NumberingPlan(
    country_code="233", trunk_prefixes=("0",), national_digits=9,
    operator_ranges=("24", "54", "55", "59"), name="Ghanaian",
)
KEY = re.compile(r"233(24|54|55|59)[0-9]{7}")

ranges = st.sampled_from(GHANA.operator_ranges)
subscriber = st.text(alphabet=string.digits, min_size=7, max_size=7)


@given(ranges, subscriber, st.sampled_from(["", " ", "-"]))
def test_every_spelling_of_a_ghana_number_is_one_key(op: str, rest: str, sep: str) -> None:
    key = f"233{op}{rest}"
    spellings = [
        f"+233{sep}{op}{sep}{rest}", f"233{op}{rest}", f"00233 {op} {rest}",
        f"0{op}{sep}{rest[:3]}{sep}{rest[3:]}", f"(0{op}) {rest}", f"{op}{rest}",
        f"+233 (0{op}) {rest}",
    ]
    assert {normalize_msisdn(s, GHANA) for s in spellings} == {key}
    assert normalize_msisdn(key, GHANA) == key and KEY.fullmatch(key)


@given(ranges, subscriber)
def test_a_ghana_number_is_not_belarusian_and_back(op: str, rest: str) -> None:
    with pytest.raises(InvalidMsisdn, match=r"\+375"):
        normalize_msisdn(f"+233{op}{rest}", BELARUS)
    with pytest.raises(InvalidMsisdn, match=r"only Ghanaian numbers \(\+233\)"):
        normalize_msisdn(f"+37529{rest}", GHANA)
    with pytest.raises(InvalidMsisdn):
        normalize_msisdn(f"80{op}{rest}", GHANA)  # Belarus's trunk 8 0 is not Ghana's


@given(st.text(alphabet=string.digits, min_size=2, max_size=2).filter(
    lambda c: c not in GHANA.operator_ranges), subscriber)
def test_other_ranges_are_refused(op: str, rest: str) -> None:
    for prefix in ("+233", "233", "0", ""):
        with pytest.raises(InvalidMsisdn, match=r"24, 54, 55, 59\) and 7 digits"):
            normalize_msisdn(f"{prefix}{op}{rest}", GHANA)


@given(ranges, subscriber)
def test_masks_keep_country_and_range_and_the_last_four(op: str, rest: str) -> None:
    key = f"233{op}{rest}"
    assert mask_msisdn(key, GHANA) == f"233{op}***{rest[-4:]}"
    assert full_number_pattern(GHANA).sub(r"\1***\2", f"from {key}.") == (
        f"from 233{op}***{rest[-4:]}."
    )


def test_the_current_plan_is_set_and_restored() -> None:
    assert current_plan() is BELARUS
    with using_plan(GHANA):
        assert current_plan() is GHANA
        assert normalize_msisdn("024 123 4567") == "233241234567"
        assert mask_msisdn("233241234567") == "23324***4567"
    assert current_plan() is BELARUS
    with pytest.raises(InvalidMsisdn):
        normalize_msisdn("024 123 4567")
    previous = install_plan(GHANA)
    try:
        assert previous is BELARUS and current_plan() is GHANA
    finally:
        install_plan(previous)


def test_the_own_prefixes_are_the_ranges_in_the_country() -> None:
    assert BELARUS.own_prefixes == ("37525", "37529", "37533", "37544")
    assert GHANA.own_prefixes == ("23324", "23354", "23355", "23359")


@pytest.mark.parametrize(
    ("fields", "part"),
    [
        ({"country_code": "0233"}, "country_code"),
        ({"country_code": "23a"}, "country_code"),
        ({"national_digits": 14}, "national_digits"),  # 3 + 14 > E.164's 15
        ({"national_digits": 5}, "national_digits"),
        ({"operator_ranges": ()}, "operator_ranges"),
        ({"operator_ranges": ("2x",)}, "operator range"),
        ({"operator_ranges": ("24567",)}, "operator range"),  # no digit left to hide
        ({"operator_ranges": ("23",)}, "country code"),  # a bare 23… reads as +233…
        ({"trunk_prefixes": ("2",)}, "trunk prefix"),  # 24… would read as 2 + 4…
        ({"trunk_prefixes": ("23",)}, "trunk prefix"),
    ],
)
def test_a_plan_that_would_misread_numbers_is_refused(fields: dict[str, object], part: str) -> None:
    base: dict[str, object] = {
        "country_code": "233", "trunk_prefixes": ("0",), "national_digits": 9,
        "operator_ranges": ("24",),
    }
    with pytest.raises(ValueError, match=part):
        NumberingPlan(**{**base, **fields})  # type: ignore[arg-type]
