"""Africa's Talking: ``POST /ussd/africastalking``, form fields in, ``CON``/``END`` out.

Request fields: ``sessionId``, ``serviceCode``, ``phoneNumber``, ``networkCode``, ``text``.
``text`` is ``""`` on the first hop, then every input of the session joined by ``*``; a
code dialled with parameters (``*141*3*6*1#`` for service ``*141*3*6#``) arrives with
``text`` already filled on the first hop. The cumulative text is also the hop's identity:
the same text again is a repeat. Reply: ``text/plain``, ``CON <screen>`` or ``END <screen>``.
End-of-session notifications go to ``POST /ussd/africastalking/events``.
"""

from __future__ import annotations

from collections.abc import Mapping

from ussd_gateway.dialects import _fields as f
from ussd_gateway.dialects.model import DialectSpec, HttpAnswer, Op, UssdReply, UssdRequest
from ussd_gateway.errors import DialectParseError

NAME = "africastalking"
# Cumulative text grows with every hop; a session is at most 180 s of typing, so a few
# screens' worth is plenty and anything longer is not a handset.
_MAX_CUMULATIVE = 2048


def parse(headers: Mapping[str, str], body: bytes) -> UssdRequest:
    """Read an Africa's Talking request."""
    fields = f.form_fields(body)
    text = f.input_text(fields, "text", limit=_MAX_CUMULATIVE)
    return UssdRequest(
        dialect=NAME,
        session_id=f.session_id(fields, "sessionId"),
        msisdn=f.msisdn(fields, "phoneNumber"),
        op=Op.CONTINUE,
        text=text,
        hop_key=text,
        service_code=f.text_field(fields, "serviceCode", limit=32),
        cumulative=True,
    )


def render(reply: UssdReply, request: UssdRequest) -> HttpAnswer:
    """Write ``CON …`` or ``END …``."""
    head = "END " if reply.ends else "CON "
    return HttpAnswer(200, "text/plain; charset=utf-8", (head + reply.text).encode())


def render_error(status: int, code: str, message: str) -> HttpAnswer:
    """Errors in plain text: Africa's Talking ends the session on any 4xx."""
    return HttpAnswer(status, "text/plain; charset=utf-8", f"{code}: {message}".encode())


SPEC = DialectSpec(NAME, "/ussd/africastalking", parse, render, render_error)

# Africa's Talking reports the end of every session to a separate "events" callback with
# `sessionId`, `phoneNumber`, `status` (Success | Incomplete | Failed) and a summary of the
# session (its `input` included, which we neither keep nor log). An unfinished session is
# thereby ended and whatever it had started is annulled, as an abort is in other dialects.
_EVENT_OPS = {"success": Op.ABORT, "failed": Op.ABORT, "incomplete": Op.TIMEOUT}


def parse_event(headers: Mapping[str, str], body: bytes) -> UssdRequest:
    """Read an end-of-session notification."""
    fields = f.form_fields(body)
    status = f.text_field(fields, "status", limit=16)
    op = _EVENT_OPS.get(status.lower())
    if op is None:
        raise DialectParseError("field 'status' must be Success, Incomplete or Failed")
    return UssdRequest(
        dialect=NAME,
        session_id=f.session_id(fields, "sessionId"),
        msisdn=f.msisdn(fields, "phoneNumber"),
        op=op,
        text="",
        hop_key=f"event:{status.lower()}",
        service_code=f.text_field(fields, "serviceCode", required=False, limit=32),
    )


def render_event(reply: UssdReply, request: UssdRequest) -> HttpAnswer:
    """Acknowledge a notification: the session is ended and annulled by now."""
    return HttpAnswer(200, "text/plain; charset=utf-8", b"OK")


EVENTS_SPEC = DialectSpec(
    NAME, "/ussd/africastalking/events", parse_event, render_event, render_error
)
