"""The measured length of a text agrees with a real encoding of it, done here independently.

The GSM 03.38 tables below are typed from 3GPP TS 23.038 §6.2.1 (default alphabet) and
§6.2.1.1 (default alphabet extension table); the packer follows §6.1.2.1.1 (7-bit packing)
and §6.1.2.3.1 (USSD: a CR fills seven spare bits). Nothing is imported from
``sms.encoding`` but the functions under test.
"""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from sms.encoding import Encoding, fits_ussd, measure, ussd_limit

# Default alphabet, one spec column (16 code points) per line: 0x00-0x0F, 0x10-0x1F, …
# ESC (0x1B) switches to the extension table and is not a character; None marks it.
_COLUMNS: tuple[tuple[str | None, ...], ...] = (
    ("@", "£", "$", "¥", "è", "é", "ù", "ì", "ò", "Ç", "\n", "Ø", "ø", "\r", "Å", "å"),
    ("Δ", "_", "Φ", "Γ", "Λ", "Ω", "Π", "Ψ", "Σ", "Θ", "Ξ", None, "Æ", "æ", "ß", "É"),
    (" ", "!", '"', "#", "¤", "%", "&", "'", "(", ")", "*", "+", ",", "-", ".", "/"),
    ("0", "1", "2", "3", "4", "5", "6", "7", "8", "9", ":", ";", "<", "=", ">", "?"),
    ("¡", "A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L", "M", "N", "O"),
    ("P", "Q", "R", "S", "T", "U", "V", "W", "X", "Y", "Z", "Ä", "Ö", "Ñ", "Ü", "§"),
    ("¿", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o"),
    ("p", "q", "r", "s", "t", "u", "v", "w", "x", "y", "z", "ä", "ö", "ñ", "ü", "à"),
)
GSM_BASIC: dict[str, int] = {
    ch: column * 16 + row
    for column, chars in enumerate(_COLUMNS)
    for row, ch in enumerate(chars)
    if ch is not None
}
GSM_EXTENSION: dict[str, int] = {
    "\f": 0x0A,  # FORM FEED (page break)
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
ESC = 0x1B
CR = 0x0D
USSD_OCTETS = 160


def to_septets(text: str) -> list[int]:
    """GSM 03.38 code points of ``text``, an escape before each extension character.

    Raises:
        KeyError: a character the default alphabet and its extension don't have.
    """
    out: list[int] = []
    for ch in text:
        if ch in GSM_BASIC:
            out.append(GSM_BASIC[ch])
        else:
            out += [ESC, GSM_EXTENSION[ch]]
    return out


def pack7(septets: list[int], *, ussd: bool = False) -> bytes:
    """Pack septets into octets, least significant bit first (TS 23.038 §6.1.2.1.1).

    With ``ussd``, seven spare bits at the end carry a CR rather than zeros, and a
    wanted CR ending on an octet boundary is followed by another (§6.1.2.3.1).
    """
    septets = list(septets)
    spare_seven = len(septets) % 8 == 7
    cr_on_boundary = bool(septets) and len(septets) % 8 == 0 and septets[-1] == CR
    if ussd and (spare_seven or cr_on_boundary):
        septets.append(CR)
    out = bytearray()
    acc = bits = 0
    for s in septets:
        assert 0 <= s < 0x80
        acc |= s << bits
        bits += 7
        while bits >= 8:
            out.append(acc & 0xFF)
            acc >>= 8
            bits -= 8
    if bits:
        out.append(acc & 0xFF)
    return bytes(out)


def unpack7(octets: bytes, count: int) -> list[int]:
    """The first ``count`` septets of packed ``octets``."""
    value = int.from_bytes(octets, "little")
    return [(value >> (7 * i)) & 0x7F for i in range(count)]


def is_gsm(text: str) -> bool:
    """Whether the tables above can carry ``text``."""
    return all(ch in GSM_BASIC or ch in GSM_EXTENSION for ch in text)


# --- the oracle itself -------------------------------------------------------------------


def test_tables_have_the_spec_sizes() -> None:
    """127 characters in the default alphabet (128 less ESC), 10 in the extension table."""
    assert len(GSM_BASIC) == 127 and len(set(GSM_BASIC.values())) == 127
    assert len(GSM_EXTENSION) == 10
    assert GSM_BASIC["@"] == 0x00 and GSM_BASIC["A"] == 0x41 and GSM_BASIC["à"] == 0x7F


def test_packer_matches_the_spec_example() -> None:
    """The classic example: "hellohello" packs to E8 32 9B FD 46 97 D9 EC 37."""
    assert pack7(to_septets("hellohello")) == bytes.fromhex("E8329BFD4697D9EC37")
    assert pack7(to_septets("Hello")) == bytes.fromhex("C8329BFD06")


@given(st.lists(st.integers(0, 0x7F), max_size=300))
def test_packer_round_trips(septets: list[int]) -> None:
    """Unpacking what was packed gives the septets back, in ceil(7n/8) octets."""
    packed = pack7(septets)
    assert len(packed) == -(-7 * len(septets) // 8)
    assert unpack7(packed, len(septets)) == septets


# --- strategies ----------------------------------------------------------------------------

gsm_chars = st.sampled_from(sorted(GSM_BASIC) + sorted(GSM_EXTENSION))
gsm_texts = st.text(alphabet=gsm_chars, max_size=400)
extension_heavy = st.text(
    alphabet=st.sampled_from([*sorted(GSM_EXTENSION), "a", " "]), max_size=200
)
non_gsm_chars = st.characters(exclude_categories=["Cs"]).filter(lambda c: not is_gsm(c))
any_texts = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=300)


@st.composite
def mixed_texts(draw: st.DrawFn) -> str:
    """Mostly GSM-7 text with at least one character GSM-7 lacks, somewhere."""
    base = draw(gsm_texts)
    pos = draw(st.integers(0, len(base)))
    intruder = draw(
        st.sampled_from(["ç", "Ж", "ы", "ё", "😀", "𝄞", "\u00a0", "–", "’", "Α", "\x1b", "`", "ç"])
        | non_gsm_chars
    )
    return base[:pos] + intruder + base[pos:]


# --- measure against the oracle --------------------------------------------------------------


@given(st.one_of(gsm_texts, extension_heavy))
@example("")
@example("^{}\\[~]|€\f")
@example("@" * 182)
def test_gsm_measure_agrees_with_real_packing(text: str) -> None:
    """For GSM-7 text: units are the septets and octets the packed length."""
    septets = to_septets(text)
    m = measure(text)
    assert m.encoding is Encoding.GSM7
    assert m.units == len(septets)
    assert m.octets == len(pack7(septets))


@given(
    st.text(alphabet=st.sampled_from(sorted(GSM_EXTENSION)), min_size=1, max_size=100), gsm_texts
)
def test_extension_characters_cost_two(ext: str, rest: str) -> None:
    """Each extension character costs two septets: the escape and its own code."""
    assert measure(rest + ext).units == measure(rest).units + 2 * len(ext)
    assert measure(ext).units == len(to_septets(ext)) == 2 * len(ext)


@given(mixed_texts())
@example("ç")
@example("\x1b")
@example("Привет")
@example("😀")
def test_any_non_gsm_character_switches_to_ucs2(text: str) -> None:
    """One character outside GSM-7 makes the whole text UCS-2, measured in UTF-16 units."""
    m = measure(text)
    assert m.encoding is Encoding.UCS2
    assert m.units * 2 == len(text.encode("utf-16-be"))
    assert m.octets == len(text.encode("utf-16-be"))


@given(any_texts)
@example("€")
@example("\U0001f600" * 41)
def test_encoding_choice_follows_the_tables(text: str) -> None:
    """Any text: GSM-7 exactly when the tables carry it, and the length of that encoding."""
    m = measure(text)
    if is_gsm(text):
        assert m.encoding is Encoding.GSM7
        assert m.units == len(to_septets(text))
        assert m.octets == len(pack7(to_septets(text)))
    else:
        assert m.encoding is Encoding.UCS2
        assert m.units * 2 == len(text.encode("utf-16-be"))


# --- one USSD screen -----------------------------------------------------------------------------


def _fits_by_oracle(text: str) -> bool:
    if is_gsm(text):
        return len(pack7(to_septets(text), ussd=True)) <= USSD_OCTETS
    return len(text.encode("utf-16-be")) <= USSD_OCTETS


@st.composite
def near_the_limit(draw: st.DrawFn) -> str:
    """Texts whose packed length is within a few octets of 160, either encoding."""
    if draw(st.booleans()):
        # 176..190 septets, some of them escapes
        septets_wanted = draw(st.integers(176, 190))
        out = ""
        while len(to_septets(out)) < septets_wanted:
            out += draw(gsm_chars)
        return out
    units_wanted = draw(st.integers(76, 84))
    out = draw(st.sampled_from(["Ж", "😀"]))
    while len(out.encode("utf-16-be")) < units_wanted * 2:
        out += draw(st.sampled_from(["Ж", "a", "€", "😀"]))
    return out


@given(st.one_of(near_the_limit(), gsm_texts, any_texts))
@example("a" * 182)
@example("a" * 183)
@example("a" * 181 + "€")
@example("a" * 175 + "\r")
@example("Ж" * 80)
@example("Ж" * 81)
@example("Ж" * 79 + "😀")
def test_fits_ussd_iff_the_real_encoding_fits_160_octets(text: str) -> None:
    """fits_ussd is true exactly when the encoded USSD-String is at most 160 octets."""
    assert fits_ussd(text) is _fits_by_oracle(text)
    m = measure(text)
    assert (m.units <= ussd_limit(m.encoding)) is _fits_by_oracle(text)


def test_ussd_limits_are_182_septets_and_80_ucs2_units() -> None:
    """The per-encoding limits are what 160 octets hold."""
    assert ussd_limit(Encoding.GSM7) == 182
    assert ussd_limit(Encoding.UCS2) == 80
    assert len(pack7([0x41] * 182, ussd=True)) == 160 < len(pack7([0x41] * 183, ussd=True))


# --- a third-party codec --------------------------------------------------------------------------


def test_gsm0338_codec_agrees() -> None:
    """The gsm0338 package (a test dependency) gives the same septets: a second oracle."""
    import gsm0338  # noqa: F401 - importing registers the "gsm03.38" codec

    @given(gsm_texts)
    def agrees(text: str) -> None:
        encoded = text.encode("gsm03.38")
        assert list(encoded) == to_septets(text)
        assert measure(text).units == len(encoded)

    agrees()


def test_decode_gsm7_is_the_inverse_and_agrees_with_gsm0338() -> None:
    """Reading unpacked septets (USSD strings from the core) gives back the text, as the
    gsm0338 package reads the same septets."""
    import gsm0338  # noqa: F401 - importing registers the "gsm03.38" codec

    from sms.encoding import decode_gsm7, encode_gsm7

    @given(gsm_texts)
    def inverse(text: str) -> None:
        assert decode_gsm7(encode_gsm7(text)) == text
        assert decode_gsm7(encode_gsm7(text)) == encode_gsm7(text).decode("gsm03.38")

    inverse()


def test_decode_gsm7_refuses_what_is_no_text() -> None:
    """A code above 0x7F, a dangling escape, an escape of no extension character."""
    import pytest

    from sms.encoding import decode_gsm7

    for codes in (b"\x80", b"a\x1b", b"\x1b\x41"):
        with pytest.raises(ValueError):
            decode_gsm7(codes)
