"""Values read from a route's path."""

from __future__ import annotations

from aiohttp import web

from state.errors import InvalidMsisdn
from state.msisdn import normalize_msisdn
from ussd_gateway.errors import BadRequest
from ussd_gateway.fields import MAX_MSISDN_CHARS


def path_msisdn(request: web.Request) -> str:
    """The ``{msisdn}`` of the path in any accepted spelling, normalised."""
    try:
        return normalize_msisdn(request.match_info["msisdn"][:MAX_MSISDN_CHARS])
    except InvalidMsisdn as exc:
        raise BadRequest(f"path 'msisdn': {exc}") from None
