"""The account front end's API for one-time codes (``/api/v1/codes``).

``POST /api/v1/codes`` ``{"msisdn", "purpose"}`` → 202 ``{"status": "accepted"}`` whether or
not the number is a subscriber; 429 with ``Retry-After`` when a send limit says no; 422 for
a number outside the operator's ranges (those are public, so saying so reveals nothing):
that is a number of another country or another range written in international form (``+`` or
``00``, then 8–15 digits), or one a narrower ``[codes] allowed_prefixes`` leaves out. Text
that is no phone number at all stays a 400 ``bad_request``.
``POST /api/v1/codes/verify`` ``{"msisdn", "purpose", "code"}`` → 200 ``{"status": "ok"}``
or one uniform 401, whatever the reason (wrong, expired, used, unknown number, locked).
Callers authenticate with the configured front-end credential (Bearer or Basic password).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from account.codes import CODE_MAX_CHARS, Purpose, RequestOutcome
from account.errors import InvalidCode, NotOurNumber, TooManyRequests
from state.models import Channel
from ussd_gateway.errors import BadRequest
from ussd_gateway.http.appkeys import CODES, SETTINGS
from ussd_gateway.http.auth import require
from ussd_gateway.http.body import FIELDS, json_body

_PURPOSES = ", ".join(p.value for p in Purpose)
_INTERNATIONAL = re.compile(r"(?:\+|00)[1-9][0-9]{7,14}")
"""A well-formed international number (E.164: at most 15 digits), separators removed."""
_SEPARATORS = re.compile(r"[\s\-.()]")
_MAX_RAW = 64


def _code_number(doc: Mapping[str, Any]) -> str:
    """The number a code is asked for; :class:`NotOurNumber` for a well-formed number that
    is not one of ours, :class:`BadRequest` for anything that is no number."""
    try:
        return FIELDS.msisdn(doc)
    except BadRequest:
        raw = doc.get("msisdn")
        if isinstance(raw, str) and len(raw) <= _MAX_RAW:
            compact = _SEPARATORS.sub("", raw)
            if compact.isascii() and _INTERNATIONAL.fullmatch(compact):
                raise NotOurNumber from None
        raise


def _authenticate(request: web.Request) -> None:
    require(request, request.app[SETTINGS].codes.api_secret, "missing or wrong API credentials")


def _purpose(doc: Mapping[str, Any]) -> Purpose:
    value = doc.get("purpose")
    try:
        return Purpose(str(value))
    except ValueError:
        raise BadRequest(f"field 'purpose' must be one of {_PURPOSES}") from None


async def request_code(request: web.Request) -> web.Response:
    """Send a code by SMS (or pretend to, for a number that is not a subscriber)."""
    _authenticate(request)
    doc = await json_body(request)
    msisdn, purpose = _code_number(doc), _purpose(doc)
    result = await request.app[CODES].request(msisdn, purpose, channel=Channel.WEB)
    if result.outcome is RequestOutcome.LIMITED:
        raise TooManyRequests(result.retry_after)
    if result.outcome is RequestOutcome.REFUSED:
        raise NotOurNumber
    return web.json_response({"status": "accepted"}, status=202)


async def verify_code(request: web.Request) -> web.Response:
    """Check a code; one answer for every kind of failure."""
    _authenticate(request)
    doc = await json_body(request)
    msisdn, purpose = FIELDS.msisdn(doc), _purpose(doc)
    code = doc.get("code")
    if not isinstance(code, str) or len(code) > CODE_MAX_CHARS:
        raise BadRequest("field 'code' is required (a string of digits)")
    if not await request.app[CODES].verify(msisdn, purpose, code):
        raise InvalidCode
    return web.json_response({"status": "ok"})


def add_codes_routes(app: web.Application) -> None:
    """Register the front end's code API."""
    app.router.add_post("/api/v1/codes", request_code)
    app.router.add_post("/api/v1/codes/verify", verify_code)
