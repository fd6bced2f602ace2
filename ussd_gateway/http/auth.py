"""Who is calling: the shared secret a caller presents, compared in constant time.

Every route that has a caller credential (the dialects, the codes and account APIs, MO and
DLR) asks here; only what a route does with a refusal differs (an SMS peer gets its own
format, the rest :class:`Unauthorized`).
"""

from __future__ import annotations

import base64
import hmac

from aiohttp import web

from ussd_gateway.config import Secret
from ussd_gateway.errors import Unauthorized
from ussd_gateway.http.appkeys import SETTINGS


def presented_secret(request: web.Request) -> str | None:
    """The secret a caller presented: Bearer, Basic password, or ``?token=``."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value:
        return value.strip()
    if scheme.lower() == "basic" and value:
        try:
            return base64.b64decode(value, validate=True).decode("utf-8").partition(":")[2]
        except (ValueError, UnicodeDecodeError):
            return None
    # Some callers can only be given a URL: accept ?token=… there. Jasmin appends its own
    # "?id=…" to a URL that already has a query, so a "?" ends the token (a "?" inside a
    # token would have to be percent-encoded anyway).
    token = request.query.get("token")
    return token.partition("?")[0] if token is not None else None


def caller_is_allowed(request: web.Request, expected: Secret | None) -> bool:
    """Whether the caller presented ``expected`` (constant time); demo mode allows all.

    With no secret configured, nobody is allowed: a forgotten setting must not open a route.
    """
    if request.app[SETTINGS].demo:
        return True
    presented = presented_secret(request)
    return (
        expected is not None
        and presented is not None
        and hmac.compare_digest(presented.encode(), expected.reveal().encode())
    )


def require(request: web.Request, expected: Secret | None, refusal: str) -> None:
    """:class:`Unauthorized` saying ``refusal`` unless the caller presented ``expected``."""
    if not caller_is_allowed(request, expected):
        raise Unauthorized(refusal)
