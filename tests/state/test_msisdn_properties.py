"""Properties of subscriber numbers: one key for every spelling, a clean refusal for the rest."""

from __future__ import annotations

import re
import string

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from state.errors import InvalidMsisdn
from state.msisdn import mask_msisdn, normalize_msisdn

OPERATORS = ("25", "29", "33", "44")
KEY = re.compile(r"375(25|29|33|44)[0-9]{7}")

# --- valid numbers and their spellings ---------------------------------------------------

operators = st.sampled_from(OPERATORS)
subscriber_digits = st.text(alphabet=string.digits, min_size=7, max_size=7)
separator = st.sampled_from(["", " ", "-", ".", " - ", ". "])
"""A gap between two digit groups: nothing, or a short run of separators."""


@st.composite
def grouped(draw: st.DrawFn, digits: str) -> str:
    """``digits`` cut into random groups with random separators between them."""
    out = digits[0]
    for ch in digits[1:]:
        out += draw(st.sampled_from(["", "", "", " ", "-", "."])) + ch
    return out


@st.composite
def spellings(draw: st.DrawFn) -> tuple[str, str]:
    """A valid number in one random human spelling, and the key it must become."""
    op = draw(operators)
    rest = draw(subscriber_digits)
    key = f"375{op}{rest}"
    tail = draw(grouped(rest))
    style = draw(st.sampled_from(["intl_plus", "intl", "intl_00", "trunk8", "trunk0", "bare"]))
    if style in ("intl_plus", "intl", "intl_00"):
        # +375 29 …, 375(29)…, +375-29-…, 00375 29 …, +375 (029) …
        prefix = {"intl_plus": "+", "intl": "", "intl_00": "00"}[style]
        head = prefix + draw(grouped("375"))
        code = draw(st.sampled_from([op, f"({op})", f"(0{op})", f"0{op}"]))
    elif style == "trunk8":
        # 8 029 …, 8 (029) …, 80291234567
        head = "8"
        code = draw(st.sampled_from([f"0{op}", f"({'0' + op})", f"0 {op}"]))
    elif style == "trunk0":
        # (029) 1234567, 029-123-45-67
        head = ""
        code = draw(st.sampled_from([f"0{op}", f"(0{op})"]))
    else:
        # 291234567, (29) 123-45-67
        head = ""
        code = draw(st.sampled_from([op, f"({op})"]))
    parts = [p for p in (head, code, tail) if p]
    raw = parts[0]
    for part in parts[1:]:
        raw += draw(separator) + part
    raw = draw(st.sampled_from(["", " ", "  "])) + raw + draw(st.sampled_from(["", " ", "\t"]))
    return raw, key


FIXED_SPELLINGS = (
    "+375 29 123-45-67",
    "375291234567",
    "80291234567",
    "8 029 123 45 67",
    "(029) 1234567",
    "291234567",
    "+375 (29) 123-45-67",
    "8 (029) 123.45.67",
    "+375-29-1234567",
    "00375 29 123 45 67",
    "+375 (029) 123-45-67",
)


@pytest.mark.parametrize("raw", FIXED_SPELLINGS)
def test_documented_spellings_are_one_key(raw: str) -> None:
    """Each spelling listed in the module docstring normalises to 375291234567."""
    assert normalize_msisdn(raw) == "375291234567"


@given(spellings(), spellings())
def test_every_spelling_normalises_to_the_same_key(a: tuple[str, str], b: tuple[str, str]) -> None:
    """Any two spellings of numbers normalise to keys that are equal iff the numbers are."""
    (raw_a, key_a), (raw_b, key_b) = a, b
    assert normalize_msisdn(raw_a) == key_a
    assert normalize_msisdn(raw_b) == key_b
    assert (normalize_msisdn(raw_a) == normalize_msisdn(raw_b)) == (key_a == key_b)


@given(st.data(), operators, subscriber_digits)
def test_spellings_of_one_number_agree(data: st.DataObject, op: str, rest: str) -> None:
    """Several random spellings of the very same number all give one key."""
    key = f"375{op}{rest}"
    styles = [
        f"+375 {op} {rest[:3]}-{rest[3:5]}-{rest[5:]}",
        f"375{op}{rest}",
        f"80{op}{rest}",
        f"8 0{op} {rest[:3]} {rest[3:5]} {rest[5:]}",
        f"(0{op}) {rest}",
        f"{op}{rest}",
        data.draw(grouped(f"375{op}{rest}")),
        "+" + data.draw(grouped(f"375{op}{rest}")),
        "8" + data.draw(grouped(f"0{op}{rest}")),
    ]
    assert {normalize_msisdn(s) for s in styles} == {key}


@given(spellings())
def test_normalize_is_idempotent(pair: tuple[str, str]) -> None:
    """A key normalises to itself."""
    key = normalize_msisdn(pair[0])
    assert KEY.fullmatch(key)
    assert normalize_msisdn(key) == key
    assert normalize_msisdn(normalize_msisdn(key)) == key


# --- invalid inputs ----------------------------------------------------------------------

other_operators = st.text(alphabet=string.digits, min_size=2, max_size=2).filter(
    lambda c: c not in OPERATORS
)


def _refuses(raw: object) -> None:
    with pytest.raises(InvalidMsisdn):
        normalize_msisdn(raw)  # type: ignore[arg-type]


@given(st.sampled_from(["+375", "375", "80", "0", ""]), other_operators, subscriber_digits)
def test_other_operator_codes_are_refused(prefix: str, op: str, rest: str) -> None:
    """An operator code other than 25, 29, 33, 44 is not a subscriber number."""
    # Each accepted prefix has its own length, so no other reading leaves nine digits
    # that start with an accepted operator code.
    _refuses(f"{prefix}{op}{rest}")


@given(
    st.sampled_from(["+375", "375", "80", "0", ""]),
    operators,
    st.integers(0, 20).filter(lambda n: n != 7),
    st.data(),
)
def test_wrong_lengths_are_refused(prefix: str, op: str, n: int, data: st.DataObject) -> None:
    """An operator code followed by anything but seven digits is refused."""
    rest = data.draw(st.text(alphabet=string.digits, min_size=n, max_size=n))
    _refuses(f"{prefix}{op}{rest}")
    _refuses(f"{prefix} {op} {rest}")


@given(spellings(), st.data())
def test_letters_are_refused(pair: tuple[str, str], data: st.DataObject) -> None:
    """A letter anywhere in a spelling makes it invalid (Latin, Cyrillic, the letter O)."""
    raw = pair[0]
    letter = data.draw(
        st.sampled_from(list("OoIlSBZabcxyzАБВоОз")) | st.characters(categories=["L"])
    )
    pos = data.draw(st.integers(0, len(raw)))
    replace = data.draw(st.booleans())
    candidate = raw[:pos] + letter + raw[pos + 1 if replace else pos :]
    _refuses(candidate)


OTHER_COUNTRY_CODES = ("7", "1", "44", "48", "49", "86", "370", "371", "372", "380", "995", "33")


@given(st.sampled_from(OTHER_COUNTRY_CODES), operators, subscriber_digits, separator)
def test_other_country_codes_are_refused(cc: str, op: str, rest: str, sep: str) -> None:
    """+7, +48, +380 … are not Belarusian numbers, even with a Belarusian-looking tail."""
    _refuses(f"+{cc}{sep}{op}{sep}{rest}")
    _refuses(f"+{cc}{rest}")


NON_ASCII_DIGITS = (
    "٠١٢٣٤٥٦٧٨٩",  # Arabic-Indic
    "۰۱۲۳۴۵۶۷۸۹",  # Extended Arabic-Indic (Persian)
    "०१२३४५६७८९",  # Devanagari
    "０１２３４５６７８９",  # fullwidth
    "০১২৩৪৫৬৭৮৯",  # Bengali
    "𝟎𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖𝟗",  # mathematical bold
)


@given(spellings(), st.sampled_from(NON_ASCII_DIGITS), st.data())
def test_non_ascii_digits_are_refused(
    pair: tuple[str, str], script: str, data: st.DataObject
) -> None:
    """Digits of other scripts are refused, whether one or all of them are swapped."""
    raw = pair[0]
    positions = [i for i, ch in enumerate(raw) if ch.isdigit()]
    chosen = data.draw(st.sets(st.sampled_from(positions), min_size=1))
    swapped = "".join(script[int(ch)] if i in chosen else ch for i, ch in enumerate(raw))
    _refuses(swapped)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        " ",
        "+",
        "+375",
        "()",
        "375",
        "٣٧٥٢٩١٢٣٤٥٦٧",
        "+٣٧٥٢٩١٢٣٤٥٦٧",
        "²⁹¹²³⁴⁵⁶⁷",
        "29 123 45 67 ext 1",
        "+375 29 123 45 67 #",
        "++375291234567",
        "375 29 1234567 8",
        "1" * 10_000,
        "+375 29 123-45-67" * 100,
        None,
        375291234567,
        b"375291234567",
        ["375291234567"],
    ],
)
def test_examples_of_invalid_input_are_refused(raw: object) -> None:
    """Empty, partial, other-script, decorated, huge and non-text inputs are refused."""
    _refuses(raw)


@given(st.text(min_size=65, max_size=5000))
def test_huge_strings_are_refused(raw: str) -> None:
    """Nothing longer than a phone number can be is even parsed."""
    _refuses(raw)


@given(st.one_of(st.text(), st.text(alphabet="+()-. 0123456789"), st.binary().map(str)))
@example("")
@example("\x00")
@example("+375\x00291234567")
@example("375 29 123\u00a045 67")
def test_any_text_is_a_key_or_invalid_msisdn(raw: str) -> None:
    """Arbitrary text yields a well-formed key made of its own digits, or InvalidMsisdn."""
    try:
        key = normalize_msisdn(raw)
    except InvalidMsisdn:
        return
    assert KEY.fullmatch(key)
    ascii_digits = "".join(ch for ch in raw if ch in string.digits)
    assert ascii_digits.endswith(key[3:])
    assert normalize_msisdn(key) == key


# --- masking -------------------------------------------------------------------------------


@given(spellings())
def test_mask_never_reveals_the_middle_digits(pair: tuple[str, str]) -> None:
    """The masked key keeps country and operator code and the last four digits only."""
    key = normalize_msisdn(pair[0])
    masked = mask_msisdn(key)
    assert masked == f"{key[:5]}***{key[-4:]}"
    assert sum(ch.isdigit() for ch in masked) == len(key) - 3


@given(operators, subscriber_digits, st.text(alphabet=string.digits, min_size=3, max_size=3))
def test_masks_differing_only_in_the_middle_are_identical(op: str, rest: str, middle: str) -> None:
    """Two numbers that differ only in the hidden digits mask to the same text."""
    a = f"375{op}{rest}"
    b = f"375{op}{middle}{rest[3:]}"
    assert mask_msisdn(a) == mask_msisdn(b)
