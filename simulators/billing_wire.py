"""The billing simulator's HTTP edges: JSON answers, refusals, auth, faults and the record.

Every answer is JSON. A request the simulator cannot take is a 4xx ``{"reason": …}``
(``bad_request`` with a ``detail`` for a malformed one), never a traceback: an unknown
route is 404 ``not_found``, a wrong method 405 ``method_not_allowed``, a body over 4 KiB
413 ``bad_request``. The middlewares, outermost first: :func:`guard_middleware` (maps
errors, writes the record), :func:`faults_middleware`, :func:`auth_middleware`.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from simulators.billing_faults import MALFORMED_BODY, Faults, parse_faults
from simulators.billing_rules import ACTIONS, Action, mask_msisdn

MAX_BODY = 4096
MAX_KEY_LENGTH = 255
_HTTP_REASONS = {404: "not_found", 405: "method_not_allowed"}
REASON: web.ResponseKey[str | None] = web.ResponseKey("reason")
"""The answer's ``reason`` kept on the response, for the record."""


class Refusal(Exception):
    """A request refused with ``status`` and ``reason`` (and a ``detail`` for people)."""

    def __init__(self, status: int, reason: str, detail: str | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.detail = detail


def reply(status: int, body: dict[str, Any]) -> web.Response:
    """A JSON answer; its ``reason`` (if any) is kept on the response for the record."""
    response = web.json_response(body, status=status, dumps=_dumps)
    response[REASON] = body.get("reason")
    return response


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def route_of(request: web.Request) -> str | None:
    """The matched route's template (``/subscribers/{msisdn}``), None when none matched."""
    resource = request.match_info.route.resource
    return None if resource is None else resource.canonical


def guard_middleware(record: Path | None) -> Any:
    """Errors as JSON answers, and one record line per request when ``record`` is set."""

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except Refusal as refusal:
            body: dict[str, Any] = {"reason": refusal.reason}
            if refusal.detail:
                body["detail"] = refusal.detail
            response = reply(refusal.status, body)
        except web.HTTPException as exc:
            reason = _HTTP_REASONS.get(exc.status, "bad_request")
            response = reply(exc.status if exc.status >= 400 else 400, {"reason": reason})
            if "Allow" in exc.headers:
                response.headers["Allow"] = exc.headers["Allow"]
        except Exception as exc:  # a bug here; the caller still gets JSON
            print(f"ussd-billing: {request.method} {route_of(request)}: {exc!r}", file=sys.stderr)
            response = reply(500, {"reason": "internal_error"})
        if record is not None:
            _write_record(record, request, response)
        return response

    return guard


def _write_record(record: Path, request: web.Request, response: web.StreamResponse) -> None:
    msisdn = request.match_info.get("msisdn") or request.query.get("msisdn")
    line = {
        "at": time.time(),
        "method": request.method,
        "route": route_of(request),
        "msisdn": mask_msisdn(msisdn) if msisdn else None,
        "status": response.status,
        "reason": response.get(REASON),
    }
    with record.open("a", encoding="utf-8") as out:
        out.write(json.dumps(line, ensure_ascii=False) + "\n")


def faults_middleware(current: Callable[[], Faults | None]) -> Any:
    """The switches of ``POST /_faults`` applied to the routes they name."""

    @web.middleware
    async def faults(request: web.Request, handler: Handler) -> web.StreamResponse:
        active, route = current(), route_of(request)
        if active is None or route is None or not active.applies_to(route):
            return await handler(request)
        if not active.replaces_answer:
            response = await handler(request)
            await asyncio.sleep(active.delay)
            return response
        await asyncio.sleep(active.delay)
        if active.malformed:
            broken = web.Response(
                status=active.status or 200, text=MALFORMED_BODY, content_type="application/json"
            )
            broken[REASON] = "malformed"
            return broken
        return reply(active.status or 503, {"reason": "injected_fault"})

    return faults


def auth_middleware(token: str) -> Any:
    """``Authorization: Bearer <token>`` on every matched route but ``/healthz``."""
    expected = token.encode("utf-8")

    @web.middleware
    async def auth(request: web.Request, handler: Handler) -> web.StreamResponse:
        route = route_of(request)
        if route is not None and route != "/healthz":
            scheme, _, credential = request.headers.get("Authorization", "").partition(" ")
            given = credential.strip().encode("utf-8", "replace")
            if scheme.lower() != "bearer" or not hmac.compare_digest(given, expected):
                response = reply(401, {"reason": "unauthorized"})
                response.headers["WWW-Authenticate"] = "Bearer"
                return response
        return await handler(request)

    return auth


def faults_routes(app: web.Application, set_faults: Callable[[Faults | None], None]) -> None:
    """``POST /_faults`` (set) and ``DELETE /_faults`` (clear) on ``app``."""

    async def post(request: web.Request) -> web.Response:
        try:
            faults = parse_faults(await read_json(request))
        except ValueError as exc:
            raise Refusal(400, "bad_request", str(exc)) from exc
        set_faults(faults)
        return reply(200, {"faults": faults.to_json()})

    async def delete(request: web.Request) -> web.Response:
        set_faults(None)
        return reply(200, {"faults": None})

    app.router.add_post("/_faults", post)
    app.router.add_delete("/_faults", delete)


async def read_json(request: web.Request) -> object:
    """The body as JSON: ``application/json`` in UTF-8, at most 4 KiB; else a refusal."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise Refusal(413, "bad_request", f"the body is over {MAX_BODY} bytes")
    if request.content_type != "application/json":
        raise Refusal(400, "bad_request", "Content-Type: application/json")
    if request.charset and request.charset.lower().replace("_", "-") not in ("utf-8", "utf8"):
        raise Refusal(400, "bad_request", "the body is UTF-8")
    raw = await request.read()  # over client_max_size: HTTPRequestEntityTooLarge, 413
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise Refusal(400, "bad_request", "the body is not UTF-8 JSON") from exc


async def read_action(request: web.Request) -> Action:
    """``{"action": "connect"|"disconnect"}`` and nothing else."""
    document = await read_json(request)
    if not isinstance(document, dict) or set(document) != {"action"}:
        raise Refusal(400, "bad_request", 'the body is {"action": "connect"|"disconnect"}')
    action = document["action"]
    if action not in ACTIONS:
        raise Refusal(400, "bad_request", 'action: "connect" or "disconnect"')
    return action  # type: ignore[no-any-return]


def read_key(request: web.Request) -> str:
    """The ``Idempotency-Key`` header: required, printable ASCII, at most 255 characters."""
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        raise Refusal(400, "idempotency_key_required")
    if len(key) > MAX_KEY_LENGTH or not (key.isascii() and key.isprintable()):
        raise Refusal(400, "bad_request", "Idempotency-Key: printable ASCII, at most 255")
    return key
