"""The dialect parsers' fields: the one reader (``ussd_gateway/fields.py``) refusing with
:class:`DialectParseError`, and the two composite fields every dialect has."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ussd_gateway.dialects.model import MAX_INPUT, MAX_SESSION_ID
from ussd_gateway.errors import DialectParseError
from ussd_gateway.fields import FieldReader

READ = FieldReader(DialectParseError)
json_object = READ.json_object
form_fields = READ.form
text_field = READ.text
integer = READ.integer
msisdn = READ.msisdn


def session_id(doc: Mapping[str, Any], name: str) -> str:
    """A non-empty session id of sane length."""
    value = text_field(doc, name, limit=MAX_SESSION_ID).strip()
    if not value:
        raise DialectParseError(f"field '{name}' must not be empty")
    return value


def input_text(doc: Mapping[str, Any], name: str, *, limit: int = MAX_INPUT) -> str:
    """A subscriber's input: at most one USSD-String."""
    return text_field(doc, name, required=False, limit=limit)


def json_error(status: int, code: str, message: str) -> tuple[int, str, bytes]:
    """The ``{"error", "message"}`` body the JSON dialects answer errors with."""
    body = json.dumps({"error": code, "message": message}, ensure_ascii=False).encode()
    return status, "application/json; charset=utf-8", body
