"""Reading JSON request bodies of the HTTP APIs: one object, typed fields, clear 400s.

A field's error names the field and never echoes its value (it may be a secret).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from state.errors import InvalidMsisdn
from state.msisdn import normalize_msisdn
from ussd_gateway.errors import BadRequest

MAX_FIELD_CHARS = 1024
"""Longer strings are refused before anything looks at them (10 KB passwords included)."""


async def read_object(request: web.Request) -> Mapping[str, Any]:
    """The body as a JSON object, or :class:`BadRequest`."""
    try:
        doc = json.loads(await request.read())
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BadRequest("the body must be a JSON object") from None
    if not isinstance(doc, dict):
        raise BadRequest("the body must be a JSON object")
    return doc


def text_field(
    doc: Mapping[str, Any], name: str, *, limit: int = MAX_FIELD_CHARS, required: bool = True
) -> str:
    """A string field of at most ``limit`` characters ("" when optional and absent)."""
    value = doc.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise BadRequest(f"field '{name}' is required (a string)")
    if len(value) > limit:
        raise BadRequest(f"field '{name}' is longer than {limit} characters")
    return value


def msisdn_field(doc: Mapping[str, Any], name: str = "msisdn") -> str:
    """A phone number field in any accepted spelling, normalised."""
    value = text_field(doc, name, limit=64)
    try:
        return normalize_msisdn(value)
    except InvalidMsisdn as exc:
        raise BadRequest(f"field '{name}': {exc}") from None


def bool_field(doc: Mapping[str, Any], name: str) -> bool:
    """A JSON boolean field."""
    value = doc.get(name)
    if not isinstance(value, bool):
        raise BadRequest(f"field '{name}' is required (true or false)")
    return value
