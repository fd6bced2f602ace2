"""HTTP handlers and middleware: dialect routes, health, request ids, error mapping.

Errors are mapped once, here: the gateway's own errors by their ``status``/``code``,
aiohttp's (413 body too large, 405, 404) by theirs, each rendered in the dialect of the
route; anything unexpected is logged with its traceback and answered 500 without one.
"""

from __future__ import annotations

import base64
import hmac
import re
import time
import uuid
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web

from state.errors import KeptConflicting, StoreError
from ussd_gateway.appkeys import ENGINE, SETTINGS, STORE
from ussd_gateway.config import Secret
from ussd_gateway.dialects import ROUTES, DialectSpec, HttpAnswer
from ussd_gateway.errors import GatewayError, Unauthorized
from ussd_gateway.metrics import CONTENT_TYPE

DIALECT = web.AppKey("dialect_by_path", dict)
LOGGED = web.RequestKey("logged_by_handler", bool)
"""Set by a handler whose own line already describes the request (a USSD hop's)."""

_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
log = structlog.get_logger("ussd_gateway.http")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _answer(answer: HttpAnswer) -> web.Response:
    return web.Response(
        status=answer.status,
        body=answer.body,
        content_type=None,
        headers={"Content-Type": answer.content_type},
    )


def _error(request: web.Request, status: int, code: str, message: str) -> web.Response:
    spec: DialectSpec | None = request.app[DIALECT].get(request.path)
    if spec is not None:
        return _answer(spec.render_error(status, code, message))
    return web.json_response({"error": code, "message": message}, status=status)


@web.middleware
async def request_context(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Bind a request id, map errors to answers, and log one line per request.

    An answered USSD hop is described by the engine's ``ussd_hop`` line (service, state,
    outcome, time); a second line per hop would cost as much again on the busiest path.
    """
    offered = request.headers.get("X-Request-Id", "")
    request_id = offered if _REQUEST_ID.fullmatch(offered) else uuid.uuid4().hex
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=request_id)
    started = time.perf_counter()
    try:
        response = await handler(request)
    except GatewayError as exc:
        response = _error(request, exc.status, exc.code, exc.message)
        response.headers.update(exc.headers)
    except web.HTTPException as exc:
        code = "too_large" if exc.status == 413 else exc.reason.lower().replace(" ", "_")
        response = _error(request, exc.status, code, exc.reason)
    except KeptConflicting:
        response = _error(request, 503, "busy", "too many changes at once; try again")
        response.headers["Retry-After"] = "1"
    except StoreError as exc:
        # An outage is one warning a request, not a traceback each (the store's own error
        # names the cause); the caller may retry: nothing of the request was committed.
        log.warning("store_failed", error=exc.__class__.__name__, cause=_cause(exc))
        response = _error(request, 503, "unavailable", "storage is unavailable; try again")
        response.headers["Retry-After"] = "5"
    except Exception:
        log.exception("unhandled_error")
        response = _error(request, 500, "internal", "internal error; it has been logged")
    response.headers["X-Request-Id"] = request_id
    if request.get(LOGGED) and response.status == 200:
        return response
    # The path only: a query string may carry a caller's token.
    log.info(
        "http_request",
        method=request.method,
        path=request.path,
        status=response.status,
        ms=round((time.perf_counter() - started) * 1000, 2),
    )
    return response


def _cause(exc: BaseException) -> str | None:
    """The driver error's class behind a store error (never its message: it may hold values)."""
    return exc.__cause__.__class__.__name__ if exc.__cause__ is not None else None


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


def authenticate(request: web.Request, dialect: str) -> None:
    """Check the caller's shared secret for ``dialect`` (skipped in demo mode)."""
    if not caller_is_allowed(request, request.app[SETTINGS].dialect_secrets.get(dialect)):
        raise Unauthorized("missing or wrong credentials for this dialect")


def ussd_handler(spec: DialectSpec) -> Handler:
    """The POST handler of one dialect: authenticate, parse, hop, render."""

    async def handle(request: web.Request) -> web.StreamResponse:
        authenticate(request, spec.name)
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
            log.warning("ussd_store_failed", error=exc.__class__.__name__, cause=_cause(exc))
            reply = engine.unavailable(ussd_request)
        answer = _answer(spec.render(reply, ussd_request))
        request[LOGGED] = True
        return answer

    return handle


async def metrics(request: web.Request) -> web.Response:
    """Prometheus exposition of the hop metrics (and the store's round trips, if counted)."""
    body = request.app[ENGINE].metrics.render()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


async def healthz(request: web.Request) -> web.Response:
    """Liveness and storage reachability."""
    await request.app[STORE].ping()
    return web.json_response({"status": "ok"})


def add_routes(app: web.Application) -> None:
    """Register the dialect routes and the health check."""
    app[DIALECT] = {spec.path: spec for spec in ROUTES}
    for spec in ROUTES:
        app.router.add_post(spec.path, ussd_handler(spec))
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
