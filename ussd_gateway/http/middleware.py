"""The one middleware: a request id, errors answered from the table, one log line, and the
request counted (``ussd_http_requests_total`` by the route's pattern, never its path).

Errors are answered once, here: the service's, the account's and the core's by
``http/errors.py``, aiohttp's own (413 body too large, 405, 404) by theirs, each rendered in
the dialect of the route; anything unexpected is logged with its traceback and answered
500 without one.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web

from ussd_gateway.dialects import DialectSpec, HttpAnswer
from ussd_gateway.http.appkeys import METRICS
from ussd_gateway.http.errors import answered
from ussd_gateway.metrics.service import UNMATCHED

DIALECT = web.AppKey("dialect_by_path", dict)
"""Route path → the dialect whose error format its errors are rendered in."""
LOGGED = web.RequestKey("logged_by_handler", bool)
"""Set by a handler whose own line already describes the request (a USSD hop's)."""

_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
log = structlog.get_logger("ussd_gateway.http")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def http_answer(answer: HttpAnswer) -> web.Response:
    """A dialect's rendered answer as an aiohttp response."""
    return web.Response(
        status=answer.status,
        body=answer.body,
        content_type=None,
        headers={"Content-Type": answer.content_type},
    )


def error_response(request: web.Request, status: int, code: str, message: str) -> web.Response:
    """An error in the route's format: its dialect's, else ``{"error", "message"}``."""
    spec: DialectSpec | None = request.app.get(DIALECT, {}).get(request.path)
    if spec is not None:
        return http_answer(spec.render_error(status, code, message))
    return web.json_response({"error": code, "message": message}, status=status)


def cause_name(exc: BaseException) -> str | None:
    """The driver error's class behind a store error (never its message: it may hold values)."""
    return exc.__cause__.__class__.__name__ if exc.__cause__ is not None else None


def route_pattern(request: web.Request) -> str:
    """The pattern of the route that took the request
    (``/api/v1/client/subscribers/{msisdn}/access``), or ``unmatched``: a label of a few
    fixed values, whatever the paths asked for."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else UNMATCHED


def _answer_error(request: web.Request, exc: Exception) -> web.Response:
    if isinstance(exc, web.HTTPException):
        code = "too_large" if exc.status == 413 else exc.reason.lower().replace(" ", "_")
        return error_response(request, exc.status, code, exc.reason)
    found = answered(exc)
    if found is None:
        log.exception("unhandled_error")
        return error_response(request, 500, "internal", "internal error; it has been logged")
    if found.outage:
        # An outage is one warning a request, not a traceback each (the store's own error
        # names the cause); the caller may retry: nothing of the request was committed.
        log.warning("store_failed", error=exc.__class__.__name__, cause=cause_name(exc))
    response = error_response(request, found.status, found.code, found.message)
    response.headers.update(found.headers)
    return response


@web.middleware
async def request_context(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Bind a request id, answer errors, and log one line per request.

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
    except Exception as exc:
        response = _answer_error(request, exc)
    response.headers["X-Request-Id"] = request_id
    elapsed = time.perf_counter() - started
    counters = request.app.get(METRICS)
    if counters is not None:
        method = request.method if request.method in _METHODS else "other"
        counters.http_answered(route_pattern(request), method, response.status, elapsed)
    if request.get(LOGGED) and response.status == 200:
        return response
    # The path only: a query string may carry a caller's token.
    log.info(
        "http_request",
        method=request.method,
        path=request.path,
        status=response.status,
        ms=round(elapsed * 1000, 2),
    )
    return response
