"""Reading the API's requests: JSON bodies and their fields, refused with a clear 4xx."""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import web

from simulators.dialects import Dialect
from simulators.web.config import PHONES
from simulators.web.phones import Phone

_MSISDN = re.compile(r"^\+?[0-9][0-9 ()-]{3,23}$")
MAX_INPUT = 182
"""Characters one input may have: a USSD string's most (GSM-7)."""


class BadInput(Exception):
    """A request the API refuses: its status and a message for the page."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


async def body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object (an empty one without a body)."""
    if not request.can_read_body:
        return {}
    try:
        data = json.loads(await request.read())
    except (ValueError, UnicodeDecodeError):
        raise BadInput(400, "the body is not JSON") from None
    if not isinstance(data, dict):
        raise BadInput(400, "the body must be a JSON object")
    return data


def text(data: dict[str, Any], name: str, *, limit: int = MAX_INPUT) -> str:
    value = data.get(name)
    if not isinstance(value, str):
        raise BadInput(400, f"'{name}' must be a string")
    if len(value) > limit:
        raise BadInput(400, f"'{name}' is longer than {limit} characters")
    return value


def msisdn(data: dict[str, Any]) -> str:
    number = text(data, "msisdn", limit=24).strip()
    if not _MSISDN.match(number):
        raise BadInput(400, "'msisdn' must be a phone number, such as 375291000001")
    return number


def dialect(data: dict[str, Any]) -> str:
    name = data.get("dialect", Dialect.NATIVE.value)
    if name not in {d.value for d in Dialect}:
        raise BadInput(400, f"'dialect' must be one of {', '.join(d.value for d in Dialect)}")
    return str(name)


def phone(request: web.Request) -> Phone:
    """The phone the URL names; 404 when the server does not know it (restarted, evicted)."""
    found = request.app[PHONES].get(request.match_info["id"])
    if found is None:
        raise web.HTTPNotFound(text="no such phone (the server was restarted? reload the page)")
    return found
