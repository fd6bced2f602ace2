"""GSUP messages ⇄ the engine's hops: the pure translation, case by case."""

from __future__ import annotations

import pytest

from sms.encoding import Encoding
from ussd_gateway.dialects.model import Op, UssdReply
from ussd_gateway.errors import PeerDecodeError
from ussd_gateway.gsup import facility, translate
from ussd_gateway.gsup.messages import GsupMessage, MessageType, SessionState

IMSI, SID = "001015291112233", 0x80000001
KEY = translate.session_id("gw", SID, 0x1A2B, 1)


def _msg(
    state: SessionState, info: bytes | None, kind: int = MessageType.PROC_SS_REQUEST
) -> GsupMessage:
    return GsupMessage(kind, IMSI, SID, state, info, message_class=3)


def test_begin_is_hop_zero_with_the_dialled_string() -> None:
    inbound = translate.read(
        _msg(SessionState.BEGIN, facility.invoke(5, facility.PSSR, "*141*0#")), "375291112233", KEY
    )
    r = inbound.request
    assert (r.dialect, r.session_id, r.op, r.text, r.hop_key, r.number) == (
        "gsup",
        KEY,
        Op.BEGIN,
        "*141*0#",
        "0",
        0,
    )
    assert inbound.invoke_id == 5


def test_continue_takes_its_hop_number_from_the_invoke_id() -> None:
    """The answer to our prompt numbered 3 is hop 3: a repeat or a late resend is the
    engine's to recognise, as on every dialect."""
    info = facility.result(3, facility.USSR, "1")
    r = translate.read(_msg(SessionState.CONTINUE, info), "375291112233", KEY).request
    assert (r.op, r.text, r.hop_key, r.number) == (Op.CONTINUE, "1", "3", 3)


def test_end_and_error_from_the_network() -> None:
    assert translate.read(_msg(SessionState.END, None), "m", KEY).request.op is Op.ABORT
    error = _msg(SessionState.END, None, MessageType.PROC_SS_ERROR)
    assert translate.read(error, "m", KEY).request.op is Op.TIMEOUT


@pytest.mark.parametrize(
    ("state", "info"),
    [
        (SessionState.BEGIN, None),
        (SessionState.BEGIN, facility.result(1, facility.PSSR, "x")),
        (SessionState.CONTINUE, facility.invoke(1, facility.PSSR, "x")),
        (SessionState.CONTINUE, facility.result(0, facility.USSR, "x")),
        (SessionState.CONTINUE, facility.result(1, facility.USSR, "")),
    ],
)
def test_the_wrong_component_for_the_state_is_refused(
    state: SessionState, info: bytes | None
) -> None:
    with pytest.raises(PeerDecodeError):
        translate.read(_msg(state, info), "375291112233", KEY)


def _reply(text: str, ends: bool) -> UssdReply:
    return UssdReply(text, ends, Encoding.GSM7, len(text))


def test_a_prompt_is_an_invoke_numbered_one_more() -> None:
    begin = _msg(SessionState.BEGIN, facility.invoke(1, facility.PSSR, "*141#"))
    request = translate.read(begin, "m", KEY).request
    out = translate.answer(begin, request, _reply("1. Yes", ends=False), 1)
    assert out is not None and out.type == MessageType.PROC_SS_REQUEST
    assert out.session_state is SessionState.CONTINUE and out.session_id == SID
    prompt = facility.decode(out.ss_info or b"")
    assert (prompt.kind, prompt.invoke_id, prompt.operation) == (
        facility.Kind.INVOKE,
        1,
        facility.USSR,
    )


def test_the_end_answers_the_subscriber_s_request() -> None:
    hop = _msg(SessionState.CONTINUE, facility.result(2, facility.USSR, "1"))
    request = translate.read(hop, "m", KEY).request
    out = translate.answer(hop, request, _reply("Done.", ends=True), 7)
    assert out is not None and out.type == MessageType.PROC_SS_RESULT
    assert out.session_state is SessionState.END
    result = facility.decode(out.ss_info or b"")
    assert (result.kind, result.invoke_id, result.operation, result.text) == (
        facility.Kind.RETURN_RESULT,
        7,
        facility.PSSR,
        "Done.",
    )


def test_nothing_answers_the_network_s_own_end() -> None:
    end = _msg(SessionState.END, None)
    assert translate.answer(end, translate.read(end, "m", KEY).request, _reply("", True), 1) is None


def test_out_of_invoke_ids_the_session_ends() -> None:
    hop = _msg(SessionState.CONTINUE, facility.result(127, facility.USSR, "1"))
    out = translate.answer(hop, translate.read(hop, "m", KEY).request, _reply("more?", False), 1)
    assert out is not None and out.session_state is SessionState.END
    assert facility.decode(out.ss_info or b"").error == facility.ERROR_SYSTEM_FAILURE


def test_a_final_answer_is_for_the_subscriber_s_invoke_even_numbered_zero() -> None:
    """Invoke id 0 is an invoke id: only an unknown one falls back to the handsets' 1."""
    assert translate.final_invoke(0) == 0
    assert translate.final_invoke(5) == 5
    assert translate.final_invoke(None) == translate.DEFAULT_PSSR_INVOKE
    hop = _msg(SessionState.CONTINUE, facility.result(2, facility.USSR, "1"))
    out = translate.answer(hop, translate.read(hop, "m", KEY).request, _reply("Done.", True), 0)
    assert out is not None and facility.decode(out.ss_info or b"").invoke_id == 0
