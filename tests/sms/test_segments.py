"""SMS segment counts agree with a real encoding of the text, done here independently.

The oracle encodes with the ``gsm0338`` codec (a GSM 03.38 implementation of its own:
one byte per septet, ``0x1B`` before an extension character) or with UTF-16BE, and cuts
the encoded units into parts of 153 septets / 67 UCS-2 units, never ending a part on an
escape septet or on a high surrogate. Nothing of ``sms.encoding`` is used to build it.
"""

from __future__ import annotations

import gsm0338  # noqa: F401 - registers the "gsm03.38" codec
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from sms.encoding import Encoding
from sms.errors import SmsError
from sms.segments import TooLong, check_fits, count_segments, split_segments

ESC = 0x1B
GSM_BASIC = [bytes([i]).decode("gsm03.38") for i in range(128) if i != ESC]
GSM_EXTENSION = ["\f", "^", "{", "}", "\\", "[", "~", "]", "|", "€"]


def gsm_septets(text: str) -> bytes | None:
    """The unpacked GSM 03.38 septets of ``text``, or None if it has no GSM-7 form.

    U+001B is the escape septet, not a character: the codec passes it through, but a text
    holding it has no GSM-7 form (a handset would read it as the start of an extension
    character), so like any other character outside the alphabet it means UCS-2.
    """
    if "\x1b" in text:
        return None
    try:
        return text.encode("gsm03.38")
    except UnicodeEncodeError:
        return None


def cut(units: list[int], *, single: int, part: int, glued: set[int] | range) -> list[int]:
    """Sizes of the parts ``units`` are sent as; a unit in ``glued`` stays with the next."""
    if len(units) <= single:
        return [len(units)]
    sizes: list[int] = []
    start = 0
    while start < len(units):
        end = min(start + part, len(units))
        if end < len(units) and units[end - 1] in glued:
            end -= 1
        sizes.append(end - start)
        start = end
    return sizes


def oracle(text: str) -> tuple[Encoding, int, list[int]]:
    """Encoding, units and part sizes of ``text`` by a real encoding."""
    septets = gsm_septets(text)
    if septets is not None:
        return Encoding.GSM7, len(septets), cut(list(septets), single=160, part=153, glued={ESC})
    raw = text.encode("utf-16-be")
    units = [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]
    return Encoding.UCS2, len(units), cut(units, single=70, part=67, glued=range(0xD800, 0xDC00))


def measured_parts(text: str) -> list[int]:
    """Sizes of ``split_segments``' parts in their encoding's units (by the oracle)."""
    parts = split_segments(text)
    if len(parts) == 1:
        return [oracle(parts[0])[1]]
    encoding = oracle(text)[0]
    if encoding is Encoding.GSM7:
        return [len(gsm_septets(p) or b"") for p in parts]
    return [len(p.encode("utf-16-be")) // 2 for p in parts]


gsm_texts = st.text(alphabet=st.sampled_from(GSM_BASIC + GSM_EXTENSION), max_size=700)
extension_heavy = st.text(alphabet=st.sampled_from([*GSM_EXTENSION, "a"]), max_size=500)
any_texts = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=400)
astral_heavy = st.text(alphabet=st.sampled_from(["Ж", "😀", "𝄞", "a"]), max_size=300)


@given(st.one_of(gsm_texts, extension_heavy, any_texts, astral_heavy))
@example("")
@example("\x1b")
@example("a" * 160)
@example("a" * 161)
@example("Ж" * 70)
@example("Ж" * 71)
@example("a" * 152 + "€" + "a" * 152)
@example("Ж" * 66 + "😀" + "Ж" * 66)
def test_segments_agree_with_a_real_encoding(text: str) -> None:
    """Encoding, units and segment count are those of the real encoding, cut for real."""
    encoding, units, sizes = oracle(text)
    counted = count_segments(text)
    assert (counted.encoding, counted.units, counted.segments) == (encoding, units, len(sizes))


@given(st.one_of(gsm_texts, extension_heavy, any_texts, astral_heavy))
@example("a" * 152 + "€" + "a" * 152)
@example("Ж" * 66 + "😀" + "Ж" * 66)
def test_parts_rebuild_the_text_and_fit(text: str) -> None:
    """The parts join back to the text (nothing dropped) and each fits its limit."""
    parts = split_segments(text)
    assert "".join(parts) == text
    assert len(parts) == count_segments(text).segments
    assert measured_parts(text) == oracle(text)[2]


@pytest.mark.parametrize(
    ("text", "encoding", "segments"),
    [
        ("", Encoding.GSM7, 1),
        ("a" * 160, Encoding.GSM7, 1),
        ("a" * 161, Encoding.GSM7, 2),
        ("a" * 153 * 2, Encoding.GSM7, 2),
        ("a" * (153 * 2 + 1), Encoding.GSM7, 3),
        ("a" * 153 * 3, Encoding.GSM7, 3),
        ("a" * (153 * 3 + 1), Encoding.GSM7, 4),
        ("€" * 80, Encoding.GSM7, 1),  # 160 septets
        ("€" * 80 + "a", Encoding.GSM7, 2),
        ("Ж" * 70, Encoding.UCS2, 1),
        ("Ж" * 71, Encoding.UCS2, 2),
        ("Ж" * 67 * 2, Encoding.UCS2, 2),
        ("Ж" * (67 * 2 + 1), Encoding.UCS2, 3),
        ("😀" * 35, Encoding.UCS2, 1),  # 70 UTF-16 units
        ("😀" * 35 + "a", Encoding.UCS2, 2),
    ],
)
def test_boundaries(text: str, encoding: Encoding, segments: int) -> None:
    """160/161, 70/71 and 153×k / 67×k are where a segment is added."""
    counted = count_segments(text)
    assert (counted.encoding, counted.segments) == (encoding, segments)


def test_an_escape_and_its_character_stay_together() -> None:
    """306 septets would fill two parts exactly, but '€' cannot straddle them: three."""
    text = "a" * 152 + "€" + "a" * 152
    assert count_segments(text).units == 306
    parts = split_segments(text)
    assert [len(gsm_septets(p) or b"") for p in parts] == [152, 153, 1]
    assert parts[1].startswith("€")


def test_a_surrogate_pair_stays_together() -> None:
    """134 units would fill two UCS-2 parts exactly, but '😀' cannot be split: three."""
    text = "Ж" * 66 + "😀" + "Ж" * 66
    assert count_segments(text).units == 134
    parts = split_segments(text)
    assert [len(p.encode("utf-16-be")) // 2 for p in parts] == [66, 67, 1]
    assert parts[1].startswith("😀")


def test_check_fits_refuses_without_truncating() -> None:
    """Over the maximum is an SmsError naming the counts, never the text; at it, fine."""
    text = "Секретный текст " * 20
    with pytest.raises(TooLong) as caught:
        check_fits(text, 3)
    assert isinstance(caught.value, SmsError)
    assert caught.value.segments == count_segments(text).segments > 3
    assert caught.value.max_segments == 3
    assert "Секретный" not in str(caught.value)
    exact = "a" * 153 * 3
    assert check_fits(exact, 3).segments == 3
    assert "".join(split_segments(exact)) == exact
