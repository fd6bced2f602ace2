"""The GSM 04.80 Facility and its USSD-String: what OsmoHLR and a phone send, our answers,
the data coding schemes, and refusals."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pycrate_mobile.TS23038 import decode_7b, encode_7b

from sms.encoding import is_gsm7, measure
from ussd_gateway.errors import PeerDecodeError
from ussd_gateway.gsup import facility
from ussd_gateway.gsup.facility import Kind
from ussd_gateway.gsup.septets import unpack_gsm7

# What OsmoHLR forwarded from a core-side handset dialling *141*3*6# (seen on the wire).
PSSR_141 = bytes.fromhex("a11502010102013b300d04010f0408aa182da69aa96c23")

gsm7_text = st.text(
    st.sampled_from(
        "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCXYZabcxyz{}[]~|€^\\"
    ),
    max_size=182,
).filter(lambda t: len(encode_7b(t)[0]) <= 160)


def test_reads_a_processunstructuredss_request() -> None:
    """The dialled string of a real BEGIN, GSM-7 packed."""
    component = facility.decode(PSSR_141)
    assert component == facility.Component(Kind.INVOKE, 1, facility.PSSR, "*141*3*6#")
    assert component.is_ussd


def test_a_prompt_and_its_answer_round_trip() -> None:
    """Our unstructuredSS-Request invoke, and the phone's result of it."""
    prompt = facility.decode(facility.invoke(3, facility.USSR, "Введите PUK1:"))
    assert (prompt.kind, prompt.invoke_id, prompt.operation, prompt.text) == (
        Kind.INVOKE,
        3,
        facility.USSR,
        "Введите PUK1:",
    )
    answer = facility.decode(facility.result(3, facility.USSR, "31415926"))
    assert (answer.kind, answer.operation, answer.text) == (
        Kind.RETURN_RESULT,
        facility.USSR,
        "31415926",
    )


def test_final_result_is_a_returnresult_of_the_pssr() -> None:
    """The END: returnResult, opcode 59, short-form lengths (OsmoHLR reads no other)."""
    wire = facility.result(1, facility.PSSR, "Access unchanged.")
    assert wire[0] == 0xA2 and all(b < 0x80 for b in (wire[1], wire[6]))
    assert facility.decode(wire).text == "Access unchanged."


def test_data_coding_schemes() -> None:
    """GSM-7 text goes packed with DCS 0x0F, anything else UCS-2 with 0x48."""
    assert facility.encode_string("Open") == (0x0F, encode_7b("Open")[0])
    assert facility.encode_string("Открыть") == (0x48, "Открыть".encode("utf-16-be"))
    assert facility.decode_string(b"\x48", "Да".encode("utf-16-be")) == "Да"
    assert facility.decode_string(b"\x11", b"\x00\x00" + "Да".encode("utf-16-be")) == "Да"
    assert facility.decode_string(b"\x01", encode_7b("12")[0]) == "12"  # GSM-7, a language
    with pytest.raises(PeerDecodeError, match="0x44"):
        facility.decode_string(b"\x44", b"12")  # 8-bit data: no text


def test_limits_are_the_ussd_string_s() -> None:
    """182 GSM-7 characters or 80 UCS-2 fit one USSD-String; one more does not."""
    assert len(facility.encode_string("a" * 182)[1]) == 160
    assert len(facility.encode_string("Ж" * 80)[1]) == 160
    for text in ("a" * 183, "Ж" * 81):
        with pytest.raises(ValueError, match="over one USSD-String"):
            facility.encode_string(text)


@given(gsm7_text.filter(lambda t: not t.endswith("\r")))
def test_gsm7_packing_round_trips(text: str) -> None:
    """Our unpacking reads pycrate's packing back exactly, a final @ included. (A final
    CR on an octet boundary reads as the fill: 23.038 has the sender double it, which
    pycrate does not; no screen ends in CR.)"""
    assert unpack_gsm7(encode_7b(text)[0]) == text


@given(gsm7_text.filter(lambda t: not t.endswith(("@", "\r"))))
def test_gsm7_unpacking_agrees_with_pycrate(text: str) -> None:
    """Where pycrate's decoder is right (no final @ or CR, which it always drops)."""
    packed = encode_7b(text)[0]
    assert unpack_gsm7(packed) == decode_7b(packed)


@given(st.text(min_size=1, max_size=80))
def test_any_text_that_fits_round_trips(text: str) -> None:
    """Whatever the engine shows comes back from the wire as it was."""
    try:
        wire = facility.invoke(1, facility.USSR, text)
    except ValueError:
        return  # over one USSD-String (an astral character costs two UCS-2 units)
    assert facility.decode(wire).text == text
    dcs, data = facility.encode_string(text)
    assert dcs == (0x0F if is_gsm7(text) else 0x48)
    assert measure(text).octets == len(data)  # what fit() counts is what goes on the wire


@given(gsm7_text | st.text(max_size=80))
def test_a_fitted_text_fits(text: str) -> None:
    """Cut or whole, a fitted text packs into the octets it was fitted to."""
    for octets in (40, 112, 160):
        fitted = facility.fit(text, octets)
        assert not fitted or len(facility.encode_string(fitted)[1]) <= octets


@pytest.mark.parametrize(
    ("wire", "why"),
    [
        (b"", "empty"),
        (PSSR_141[:9] + b"\x7f" + PSSR_141[10:], "not a 24.080 component"),
        (PSSR_141 + b"\x00", "bytes after"),
        (b"\x30\x00", "not a 24.080 component"),
    ],
)
def test_malformed_facilities_are_refused(wire: bytes, why: str) -> None:
    """A component that is not what its tags say is one PeerDecodeError."""
    with pytest.raises(PeerDecodeError, match=why):
        facility.decode(wire)


@given(st.binary(max_size=64))
def test_any_octets_decode_or_are_refused_cleanly(wire: bytes) -> None:
    """pycrate's many exception classes never escape."""
    with contextlib.suppress(PeerDecodeError):
        facility.decode(wire)


def test_an_empty_final_answer_is_a_bare_result() -> None:
    """Nothing to show: a returnResult without a result (24.080 makes it optional)."""
    bare = facility.decode(facility.result(2, facility.PSSR, ""))
    assert (bare.kind, bare.invoke_id, bare.text) == (Kind.RETURN_RESULT, 2, None)


def test_errors_and_rejects() -> None:
    """A returnError carries its MAP code; our Reject names no invoke."""
    error = facility.decode(facility.error(4, facility.ERROR_SYSTEM_FAILURE))
    assert (error.kind, error.invoke_id, error.error) == (Kind.RETURN_ERROR, 4, 34)
    assert facility.reject_mistyped() == bytes.fromhex("a4050500800101")


def test_a_text_is_fitted_to_the_channel() -> None:
    """OsmoHLR 1.5 forwards 112 octets: a longer one-screen text is cut with an ellipsis."""
    long_ru = "Не набирайте пароль в запросе. Наберите *141*0# и введите его на экране."
    cut = facility.fit(long_ru, 112)
    assert cut.endswith("…") and len(facility.encode_string(cut)[1]) <= 112
    assert long_ru.startswith(cut[:-1])
    assert facility.fit("Access unchanged.", 112) == "Access unchanged."
    cut_en = facility.fit("x " * 100, 112)
    assert cut_en.endswith("...") and len(facility.encode_string(cut_en)[1]) <= 112
