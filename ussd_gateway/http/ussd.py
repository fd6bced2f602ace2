"""The USSD routes: one POST route per dialect (authenticate, parse, hop, render). Health
and metrics are ``health.py``'s."""

from __future__ import annotations

import structlog
from aiohttp import web

from state.errors import StoreError
from ussd_gateway.dialects import ROUTES, DialectSpec
from ussd_gateway.http.appkeys import ENGINE, SETTINGS
from ussd_gateway.http.auth import require
from ussd_gateway.http.middleware import DIALECT, LOGGED, Handler, cause_name, http_answer

log = structlog.get_logger("ussd_gateway.http")


def ussd_handler(spec: DialectSpec) -> Handler:
    """The POST handler of one dialect: authenticate, parse, hop, render."""

    async def handle(request: web.Request) -> web.StreamResponse:
        require(
            request,
            request.app[SETTINGS].dialect_secrets.get(spec.name),
            "missing or wrong credentials for this dialect",
            query_ok=True,
        )
        structlog.contextvars.bind_contextvars(dialect=spec.name)
        body = await request.read()
        ussd_request = spec.parse(request.headers, body)
        engine = request.app[ENGINE]
        try:
            reply = await engine.handle(ussd_request)
        except StoreError as exc:
            # The database is down or failing: the handset gets a short END in the
            # subscriber's language (HTTP 200 in every dialect, so the USSD centre shows it
            # instead of its own network error), and nothing was acknowledged that was not
            # committed. (A conflict storm is not an outage: the engine answers it as
            # GatewayBusy, 503 "busy".)
            log.warning("ussd_store_failed", error=exc.__class__.__name__, cause=cause_name(exc))
            reply = engine.unavailable(ussd_request)
        answer = http_answer(spec.render(reply, ussd_request))
        request[LOGGED] = True
        return answer

    return handle


def add_ussd_routes(app: web.Application) -> None:
    """Register the dialect routes."""
    app[DIALECT] = {spec.path: spec for spec in ROUTES}
    for spec in ROUTES:
        app.router.add_post(spec.path, ussd_handler(spec))
