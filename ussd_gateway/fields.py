"""Reading request fields: one reader for JSON objects and forms, for every route.

A :class:`FieldReader` raises one error class, so a dialect's parser refuses with
:class:`DialectParseError` (answered in the dialect's format) and the JSON APIs with
:class:`BadRequest`, from the same checks and the same words. A field's error names the
field and never echoes its value (it may be a secret). Pure: bytes and mappings in, values
or an error out; the HTTP adapters read the body.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from state.errors import InvalidMsisdn
from state.msisdn import normalize_msisdn
from ussd_gateway.errors import BadRequest

MAX_FIELD_CHARS = 1024
"""The APIs' default: longer strings are refused before anything looks at them (10 KB
passwords included)."""
MAX_MSISDN_CHARS = 64
"""The longest spelling of a phone number read at all (separators included)."""


class FieldReader:
    """Typed fields of a request body, each refusal a ``error`` naming the field."""

    def __init__(self, error: type[BadRequest], *, text_limit: int = MAX_FIELD_CHARS) -> None:
        self.error = error
        self.text_limit = text_limit

    def json_object(self, body: bytes) -> Mapping[str, Any]:
        """Parse a JSON object body or say clearly why not."""
        try:
            doc = json.loads(body.decode("utf-8"))
        except UnicodeDecodeError:
            raise self.error("body is not UTF-8") from None
        except json.JSONDecodeError as exc:
            raise self.error(f"body is not JSON (line {exc.lineno}, column {exc.colno})") from None
        except (ValueError, RecursionError):
            # Integers past Python's digit limit, or nesting deeper than the parser's stack.
            raise self.error("body is not JSON we accept (too deep or too large)") from None
        if not isinstance(doc, dict):
            raise self.error("body must be a JSON object")
        return doc

    def form(self, body: bytes) -> dict[str, str]:
        """Parse an ``application/x-www-form-urlencoded`` body (the first of repeated fields)."""
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise self.error("body is not UTF-8") from None
        try:
            pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False, errors="strict")
        except (ValueError, UnicodeDecodeError):
            raise self.error("body is not a valid form") from None
        fields: dict[str, str] = {}
        for key, value in pairs:
            fields.setdefault(key, value)
        return fields

    def text(
        self, doc: Mapping[str, Any], name: str, *, required: bool = True, limit: int | None = None
    ) -> str:
        """A string field, present if required ("" when optional and absent), within
        ``limit`` characters (the reader's default if None), no NULs."""
        limit = self.text_limit if limit is None else limit
        value = doc.get(name)
        if value is None:
            if required:
                raise self.error(f"field '{name}' is required")
            return ""
        if not isinstance(value, str):
            raise self.error(f"field '{name}' must be a string")
        if len(value) > limit:
            raise self.error(f"field '{name}' is longer than {limit} characters")
        if "\x00" in value:
            raise self.error(f"field '{name}' contains a NUL character")
        return value

    def integer(self, doc: Mapping[str, Any], name: str, *, required: bool) -> int | None:
        """A non-negative integer field (a JSON number or a string of digits)."""
        value = doc.get(name)
        if value is None:
            if required:
                raise self.error(f"field '{name}' is required")
            return None
        if isinstance(value, bool):
            raise self.error(f"field '{name}' must be an integer")
        if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 10:
            value = int(value)
        if not isinstance(value, int) or not 0 <= value < 10**9:
            raise self.error(f"field '{name}' must be a non-negative integer")
        return value

    def boolean(self, doc: Mapping[str, Any], name: str) -> bool:
        """A JSON boolean field."""
        value = doc.get(name)
        if not isinstance(value, bool):
            raise self.error(f"field '{name}' is required (true or false)")
        return value

    def msisdn(self, doc: Mapping[str, Any], name: str = "msisdn") -> str:
        """A subscriber number in any accepted spelling, normalised."""
        try:
            return normalize_msisdn(self.text(doc, name, limit=MAX_MSISDN_CHARS))
        except InvalidMsisdn as exc:
            raise self.error(f"field '{name}': {exc}") from None
