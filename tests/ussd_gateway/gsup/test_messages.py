"""GSUP messages: our codec against Osmocom's own (pyosmocom), both ways, and refusals."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from osmocom.gsup.message import GsupMessage as Reference

from ussd_gateway.errors import PeerDecodeError
from ussd_gateway.gsup import messages
from ussd_gateway.gsup.messages import GsupMessage, MessageType, SessionState

_STATES = {SessionState.BEGIN: "begin", SessionState.CONTINUE: "Continue", SessionState.END: "end"}

ss_messages = st.builds(
    GsupMessage,
    type=st.sampled_from(
        [MessageType.PROC_SS_REQUEST, MessageType.PROC_SS_RESULT, MessageType.PROC_SS_ERROR]
    ),
    imsi=st.text("0123456789", min_size=6, max_size=15),
    session_id=st.integers(0, 2**32 - 1),
    session_state=st.sampled_from(list(_STATES)),
    ss_info=st.binary(min_size=1, max_size=200),
    cause=st.none() | st.integers(0, 255),
    message_class=st.just(messages.MESSAGE_CLASS_USSD),
)


def _reference_dict(message: GsupMessage) -> dict[str, object]:
    ies = Reference.from_bytes(messages.encode(message)).to_dict()
    return {k: v for ie in ies["ies"] for k, v in ie.items()} | {"msg_type": ies["msg_type"]}


@given(ss_messages)
def test_pyosmocom_reads_what_we_write(message: GsupMessage) -> None:
    """Every IE we write is read back by Osmocom's codec with the same value."""
    read = _reference_dict(message)
    assert read["msg_type"] == MessageType(message.type).name
    assert read["imsi"] == message.imsi
    assert read["session_id"] == message.session_id
    assert read["session_state"] == _STATES[message.session_state]  # type: ignore[index]
    assert bytes(read["supplementary_service_info"]) == message.ss_info  # type: ignore[arg-type]
    assert read.get("cause") == message.cause
    assert read["message_class"] == "ussd"


@given(ss_messages)
def test_we_read_what_pyosmocom_writes(message: GsupMessage) -> None:
    """A message Osmocom's codec writes decodes to the message it was made from."""
    ies: list[dict[str, object]] = [{"imsi": message.imsi}]
    if message.cause is not None:
        ies.append({"cause": message.cause})
    ies += [
        {"session_id": message.session_id},
        {"session_state": _STATES[message.session_state]},  # type: ignore[index]
        {"supplementary_service_info": message.ss_info},
        {"message_class": "ussd"},
    ]
    wire = Reference.from_dict({"msg_type": MessageType(message.type).name, "ies": ies}).to_bytes()
    assert messages.decode(wire) == message


def test_unknown_ies_are_skipped_and_the_first_of_a_repeat_counts() -> None:
    """As libosmocore does: an IE it does not know is passed over."""
    wire = messages.encode(GsupMessage(MessageType.PROC_SS_REQUEST, "001010000000001", 7))
    read = messages.decode(wire + bytes((0x7E, 2, 1, 2)) + bytes((0x30, 4, 0, 0, 0, 9)))
    assert read.session_id == 7


@pytest.mark.parametrize(
    ("wire", "why"),
    [
        (b"", "empty"),
        (bytes((0x20, 0x30, 4, 0, 0, 0, 1)), "IMSI first"),
        (bytes((0x20, 0x01, 8, 0x10)), "past the end"),
        (bytes((0x20, 0x01, 1)), "past the end"),
        (bytes((0x20, 0x01, 1, 0xA1)), "no digit"),
        (bytes((0x20, 0x01, 1, 0x10, 0x30, 2, 0, 1)), "4 octet"),
        (bytes((0x20, 0x01, 1, 0x10, 0x31, 1, 9)), "state 9"),
    ],
)
def test_malformed_messages_are_refused_by_name(wire: bytes, why: str) -> None:
    """Each broken message is one PeerDecodeError that says what is wrong."""
    with pytest.raises(PeerDecodeError, match=why):
        messages.decode(wire)


@given(st.binary(max_size=64))
def test_any_octets_decode_or_are_refused_cleanly(wire: bytes) -> None:
    """Garbage never raises anything but PeerDecodeError."""
    with contextlib.suppress(PeerDecodeError):
        messages.decode(wire)
