"""Africa's Talking: ``POST /ussd/africastalking``, form fields in, ``CON``/``END`` out.

Request fields: ``sessionId``, ``serviceCode``, ``phoneNumber``, ``networkCode``, ``text``.
``text`` is ``""`` on the first hop, then every input of the session joined by ``*``; a
code dialled with parameters (``*141*3*6*1#`` for service ``*141*3*6#``) arrives with
``text`` already filled on the first hop. The cumulative text is also the hop's identity:
the same text again is a repeat. Reply: ``text/plain``, ``CON <screen>`` or ``END <screen>``.
"""

from __future__ import annotations

from collections.abc import Mapping

from ussd_gateway.dialects import _fields as f
from ussd_gateway.dialects.model import DialectSpec, HttpAnswer, Op, UssdReply, UssdRequest

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
