"""The gateway's own JSON dialect: ``POST /ussd``.

Request::

    {"session_id": "s-1", "msisdn": "+375291234567", "op": "begin",
     "text": "*141*3*6#", "hop": 0}

``op`` is ``begin`` (``text`` is the dialled string), ``continue`` (``text`` is this hop's
input), ``abort`` or ``timeout`` (the network ended the session). ``hop`` counts requests
in the session from 0; a request with the ``hop`` answered last is a repeat and gets the
same reply; an older ``hop`` (a late resend) gets the current screen and changes nothing.
Reply (200)::

    {"session_id": "s-1", "op": "continue", "text": "…", "encoding": "ucs2", "length": 57}

``op`` is ``continue`` or ``end``; ``length`` is in the units of ``encoding`` (GSM-7
septets or UCS-2 characters). Errors: 4xx ``{"error": code, "message": text}``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from ussd_gateway.dialects import _fields as f
from ussd_gateway.dialects.model import DialectSpec, HttpAnswer, Op, UssdReply, UssdRequest
from ussd_gateway.errors import DialectParseError

NAME = "native"
_OPS = {op.value: op for op in Op}


def parse(headers: Mapping[str, str], body: bytes) -> UssdRequest:
    """Read a native request."""
    doc = f.json_object(body)
    op_text = f.text_field(doc, "op", limit=16)
    op = _OPS.get(op_text)
    if op is None:
        raise DialectParseError("field 'op' must be one of begin, continue, abort, timeout")
    hop = f.integer(doc, "hop", required=op is Op.CONTINUE)
    if hop is None:
        hop = 0
    if op is Op.BEGIN and hop != 0:
        raise DialectParseError("a begin request has hop 0")
    if op is Op.CONTINUE and hop == 0:
        raise DialectParseError("a continue request has hop 1 or more")
    return UssdRequest(
        dialect=NAME,
        session_id=f.session_id(doc, "session_id"),
        msisdn=f.msisdn(doc, "msisdn"),
        op=op,
        text=f.input_text(doc, "text"),
        hop_key=str(hop),
        service_code=f.text_field(doc, "service_code", required=False, limit=32),
        number=hop,
    )


def render(reply: UssdReply, request: UssdRequest) -> HttpAnswer:
    """Write a native reply."""
    body = {
        "session_id": request.session_id,
        "op": "end" if reply.ends else "continue",
        "text": reply.text,
        "encoding": str(reply.encoding),
        "length": reply.length,
    }
    return HttpAnswer(
        200, "application/json; charset=utf-8", json.dumps(body, ensure_ascii=False).encode()
    )


def render_error(status: int, code: str, message: str) -> HttpAnswer:
    """Write a native error."""
    return HttpAnswer(*f.json_error(status, code, message))


SPEC = DialectSpec(NAME, "/ussd", parse, render, render_error)
