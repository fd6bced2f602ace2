"""Field checks shared by the dialect parsers."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from state.errors import InvalidMsisdn
from state.msisdn import normalize_msisdn
from ussd_gateway.dialects.model import MAX_INPUT, MAX_SESSION_ID
from ussd_gateway.errors import DialectParseError


def json_object(body: bytes) -> Mapping[str, Any]:
    """Parse a JSON object body or say clearly why not."""
    try:
        doc = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise DialectParseError("body is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise DialectParseError(
            f"body is not JSON (line {exc.lineno}, column {exc.colno})"
        ) from None
    except (ValueError, RecursionError):
        # Integers past Python's digit limit, or nesting deeper than the parser's stack.
        raise DialectParseError("body is not JSON we accept (too deep or too large)") from None
    if not isinstance(doc, dict):
        raise DialectParseError("body must be a JSON object")
    return doc


def form_fields(body: bytes) -> dict[str, str]:
    """Parse an ``application/x-www-form-urlencoded`` body (the first of repeated fields)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise DialectParseError("body is not UTF-8") from None
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False, errors="strict")
    except (ValueError, UnicodeDecodeError):
        raise DialectParseError("body is not a valid form") from None
    fields: dict[str, str] = {}
    for key, value in pairs:
        fields.setdefault(key, value)
    return fields


def text_field(doc: Mapping[str, Any], name: str, *, required: bool = True, limit: int) -> str:
    """A string field, present if required, within ``limit`` characters, no NULs."""
    value = doc.get(name)
    if value is None:
        if required:
            raise DialectParseError(f"field '{name}' is required")
        return ""
    if not isinstance(value, str):
        raise DialectParseError(f"field '{name}' must be a string")
    if len(value) > limit:
        raise DialectParseError(f"field '{name}' is longer than {limit} characters")
    if "\x00" in value:
        raise DialectParseError(f"field '{name}' contains a NUL character")
    return value


def session_id(doc: Mapping[str, Any], name: str) -> str:
    """A non-empty session id of sane length."""
    value = text_field(doc, name, limit=MAX_SESSION_ID).strip()
    if not value:
        raise DialectParseError(f"field '{name}' must not be empty")
    return value


def input_text(doc: Mapping[str, Any], name: str, *, limit: int = MAX_INPUT) -> str:
    """A subscriber's input: at most one USSD-String."""
    return text_field(doc, name, required=False, limit=limit)


def integer(doc: Mapping[str, Any], name: str, *, required: bool) -> int | None:
    """A non-negative integer field (a JSON number or a string of digits)."""
    value = doc.get(name)
    if value is None:
        if required:
            raise DialectParseError(f"field '{name}' is required")
        return None
    if isinstance(value, bool):
        raise DialectParseError(f"field '{name}' must be an integer")
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 10:
        value = int(value)
    if not isinstance(value, int) or not 0 <= value < 10**9:
        raise DialectParseError(f"field '{name}' must be a non-negative integer")
    return value


def msisdn(doc: Mapping[str, Any], name: str) -> str:
    """A subscriber number in any accepted spelling, normalised to ``375XXXXXXXXX``."""
    try:
        return normalize_msisdn(text_field(doc, name, limit=64))
    except InvalidMsisdn as exc:
        raise DialectParseError(f"field '{name}': {exc}") from None


def json_error(status: int, code: str, message: str) -> tuple[int, str, bytes]:
    """The ``{"error", "message"}`` body the JSON dialects answer errors with."""
    body = json.dumps({"error": code, "message": message}, ensure_ascii=False).encode()
    return status, "application/json; charset=utf-8", body
