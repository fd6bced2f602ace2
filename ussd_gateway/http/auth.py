"""Who is calling: the shared secret a caller presents, compared in constant time.

Every route that has a caller credential (the dialects, the codes and account APIs, MO and
DLR) asks here; only what a route does with a refusal differs (an SMS peer gets its own
format, the rest :class:`Unauthorized`).

A secret in a URL ends up in access logs, proxies and browser histories, so ``?token=`` is
taken only where a route says so (``query_ok=True``): the peers that can only be given a
URL — the USSD dialects (aggregator callbacks) and ``/sms/mo``, ``/sms/dlr`` (Kannel,
Jasmin). The front-end, account and operator APIs and ``/metrics`` want a header.
"""

from __future__ import annotations

import base64
import hmac

from aiohttp import web

from ussd_gateway.config import Secret
from ussd_gateway.errors import Unauthorized
from ussd_gateway.http.appkeys import SETTINGS


def presented_secret(request: web.Request, *, query_ok: bool = False) -> str | None:
    """The secret a caller presented: Bearer, Basic password, or (``query_ok``) ``?token=``."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value:
        return value.strip()
    if scheme.lower() == "basic" and value:
        try:
            return base64.b64decode(value, validate=True).decode("utf-8").partition(":")[2]
        except (ValueError, UnicodeDecodeError):
            return None
    if not query_ok:
        return None
    # Some callers can only be given a URL: accept ?token=… there. Jasmin appends its own
    # "?id=…" to a URL that already has a query, so a "?" ends the token (a "?" inside a
    # token would have to be percent-encoded anyway).
    token = request.query.get("token")
    return token.partition("?")[0] if token is not None else None


def caller_is_allowed(
    request: web.Request, expected: Secret | None, *, query_ok: bool = False
) -> bool:
    """Whether the caller presented ``expected`` (constant time); demo mode allows all.

    With no secret configured, nobody is allowed: a forgotten setting must not open a route.
    ``query_ok``: a ``?token=`` counts too (only for peers that cannot send headers).
    """
    if request.app[SETTINGS].demo:
        return True
    presented = presented_secret(request, query_ok=query_ok)
    return (
        expected is not None
        and presented is not None
        and hmac.compare_digest(presented.encode(), expected.reveal().encode())
    )


def require(
    request: web.Request, expected: Secret | None, refusal: str, *, query_ok: bool = False
) -> None:
    """:class:`Unauthorized` saying ``refusal`` unless the caller presented ``expected``."""
    if not caller_is_allowed(request, expected, query_ok=query_ok):
        raise Unauthorized(refusal)
