"""Hubtel: ``POST /ussd/hubtel``, JSON both ways.

Request: ``SessionId``, ``Mobile``, ``ServiceCode``, ``Type`` (``Initiation``, ``Response``,
``Release``, ``Timeout``; any case), ``Message`` (on Initiation the dialled string, later
this hop's input), ``Operator``, ``Sequence`` (the hop's number from 1: a repeat has the
same; an older one is a late resend, answered with the current screen), ``ClientState``.
Reply: ``{"Type": "Response"|"Release", "Message": …, "ClientState": ""}``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from ussd_gateway.dialects import _fields as f
from ussd_gateway.dialects.model import DialectSpec, HttpAnswer, Op, UssdReply, UssdRequest
from ussd_gateway.errors import DialectParseError

NAME = "hubtel"
_TYPES = {
    "initiation": Op.BEGIN,
    "response": Op.CONTINUE,
    "release": Op.ABORT,
    "timeout": Op.TIMEOUT,
}


def parse(headers: Mapping[str, str], body: bytes) -> UssdRequest:
    """Read a Hubtel request."""
    doc = f.json_object(body)
    op = _TYPES.get(f.text_field(doc, "Type", limit=16).lower())
    if op is None:
        raise DialectParseError("field 'Type' must be Initiation, Response, Release or Timeout")
    sequence = f.integer(doc, "Sequence", required=True)
    code = doc.get("ServiceCode")
    return UssdRequest(
        dialect=NAME,
        session_id=f.session_id(doc, "SessionId"),
        msisdn=f.msisdn(doc, "Mobile"),
        op=op,
        text=f.input_text(doc, "Message"),
        hop_key=str(sequence),
        service_code=_service_code(code),
        number=sequence,
    )


def _service_code(value: object) -> str:
    """ServiceCode as text: digits may come as a JSON number; anything else is ignored."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return ""
    text = str(value)
    return text if len(text) <= 32 else ""


def render(reply: UssdReply, request: UssdRequest) -> HttpAnswer:
    """Write a Hubtel reply."""
    body = {
        "Type": "Release" if reply.ends else "Response",
        "Message": reply.text,
        "ClientState": "",
    }
    return HttpAnswer(
        200, "application/json; charset=utf-8", json.dumps(body, ensure_ascii=False).encode()
    )


def render_error(status: int, code: str, message: str) -> HttpAnswer:
    """Write a Hubtel error (JSON, with the same fields the native dialect uses)."""
    return HttpAnswer(*f.json_error(status, code, message))


SPEC = DialectSpec(NAME, "/ussd/hubtel", parse, render, render_error)
