"""The account front end's API for one-time codes (``/api/v1/codes``).

``POST /api/v1/codes`` ``{"msisdn", "purpose"}`` → 202 ``{"status": "accepted"}`` whether or
not the number is a subscriber; 429 with ``Retry-After`` when a send limit says no; 422 for
a number outside the operator's ranges (those are public, so saying so reveals nothing).
``POST /api/v1/codes/verify`` ``{"msisdn", "purpose", "code"}`` → 200 ``{"status": "ok"}``
or one uniform 401, whatever the reason (wrong, expired, used, unknown number, locked).
Callers authenticate with the configured front-end credential (Bearer or Basic password).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from sms.codes import Purpose, RequestOutcome
from state.models import Channel
from ussd_gateway.appkeys import CODES, SETTINGS
from ussd_gateway.errors import BadRequest, Unauthorized
from ussd_gateway.json_input import msisdn_field, read_object
from ussd_gateway.web import caller_is_allowed

_PURPOSES = ", ".join(p.value for p in Purpose)
_UNIFORM_401 = {"error": "invalid_code", "message": "the code is not valid"}


def _authenticate(request: web.Request) -> None:
    if not caller_is_allowed(request, request.app[SETTINGS].codes.api_secret):
        raise Unauthorized("missing or wrong API credentials")


def _purpose(doc: Mapping[str, Any]) -> Purpose:
    value = doc.get("purpose")
    try:
        return Purpose(str(value))
    except ValueError:
        raise BadRequest(f"field 'purpose' must be one of {_PURPOSES}") from None


async def request_code(request: web.Request) -> web.Response:
    """Send a code by SMS (or pretend to, for a number that is not a subscriber)."""
    _authenticate(request)
    doc = await read_object(request)
    msisdn, purpose = msisdn_field(doc), _purpose(doc)
    result = await request.app[CODES].request(msisdn, purpose, channel=Channel.WEB)
    if result.outcome is RequestOutcome.LIMITED:
        return web.json_response(
            {"error": "too_many_requests", "message": "try again later"},
            status=429,
            headers={"Retry-After": str(result.retry_after)},
        )
    if result.outcome is RequestOutcome.REFUSED:
        return web.json_response(
            {
                "error": "not_our_number",
                "message": "codes are sent to this operator's numbers only",
            },
            status=422,
        )
    return web.json_response({"status": "accepted"}, status=202)


async def verify_code(request: web.Request) -> web.Response:
    """Check a code; one answer for every kind of failure."""
    _authenticate(request)
    doc = await read_object(request)
    msisdn, purpose = msisdn_field(doc), _purpose(doc)
    code = doc.get("code")
    if not isinstance(code, str) or len(code) > 32:
        raise BadRequest("field 'code' is required (a string of digits)")
    if await request.app[CODES].verify(msisdn, purpose, code):
        return web.json_response({"status": "ok"})
    return web.json_response(_UNIFORM_401, status=401)


def add_api_routes(app: web.Application) -> None:
    """Register the front end's code API."""
    app.router.add_post("/api/v1/codes", request_code)
    app.router.add_post("/api/v1/codes/verify", verify_code)
