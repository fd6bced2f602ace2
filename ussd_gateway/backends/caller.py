"""Menus' back-end calls over HTTP: one client per configured back-end, within the hop's budget.

Every call of a menu (``menus/calls.py``) goes to its back-end's base URL with the path
the menu's template fills, and nowhere else: the URL is built by appending the filled
path (each value percent-encoded) to the configured base, and a URL whose host or port
is not the base's is refused before anything is sent. The back-end's credential is
added here (``Authorization: Bearer``); a call that changes something carries the hop's
idempotency key (``Idempotency-Key``), the same however often the hop is retried.

A call takes what is left of the hop's budget, at most its back-end's timeout; an answer
that comes later is cut off and never applied. What it came to:

- ``ok``: a 2xx whose body is a JSON object with every field the menu saves;
- ``refused``: a 4xx (other than 401, 403, 407, 408 and 429, which say our side or the
  load is wrong) whose body is a JSON object with a ``reason`` code: a business answer;
- ``failed``/``timeout``/``circuit_open``: anything else (a 5xx, an answer that is not the
  JSON it should be, no connection, no answer in time, the breaker open).

One log line per call, without the subscriber's values, the filled path or the token:
the back-end, the call's name, the method, the path template, the status, the outcome,
the refusal's reason code, the time.
"""

from __future__ import annotations

import asyncio
import json
import re
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import structlog
from yarl import URL

from ussd_gateway.backends.breaker import Breaker, BreakerState
from ussd_gateway.backends.counters import NO_COUNTERS, BackendCounters
from ussd_gateway.config.settings import BackendSettings
from ussd_gateway.menus.calls import CallContext, CallOutcome, CallResult, CallSpec, saved_fields
from ussd_gateway.menus.values import Values

log = structlog.get_logger("ussd_gateway.backends")

MAX_ANSWER = 64 * 1024
"""Bytes of an answer read at most: a menu saves a few short fields."""
MIN_TIMEOUT = 0.05
"""Seconds below which a call is not started: the hop's budget is spent."""
REASON = re.compile(r"[a-z0-9_]{1,40}")
"""A refusal's reason code, as a menu's guard compares it."""
NOT_REFUSALS = frozenset({401, 403, 407, 408, 429})
"""4xx answers that are no business refusal: our credential, a proxy, the back-end's load."""


@dataclass
class _Backend:
    name: str
    settings: BackendSettings
    base: URL
    breaker: Breaker
    session: aiohttp.ClientSession | None = None


class HttpCaller:
    """Makes menus' calls to the configured back-ends (``menus.calls.Caller``)."""

    def __init__(
        self,
        backends: Mapping[str, BackendSettings],
        *,
        counters: BackendCounters = NO_COUNTERS,
    ) -> None:
        self.counters = counters
        self._backends = {
            name: _Backend(
                name,
                settings,
                URL(settings.url),
                Breaker(
                    failures_to_open=settings.failures_to_open,
                    open_seconds=settings.open_seconds,
                ),
            )
            for name, settings in backends.items()
        }

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self._backends)

    async def start(self) -> None:
        """Open one connection pool per back-end (in the serving loop)."""
        for backend in self._backends.values():
            settings = backend.settings
            tls: ssl.SSLContext | bool = True
            if not settings.tls_verify:
                tls = False
            elif settings.ca_file is not None:
                tls = ssl.create_default_context(cafile=str(settings.ca_file))
            connector = aiohttp.TCPConnector(limit=settings.max_connections, ssl=tls)
            headers = {"Accept": "application/json", "User-Agent": "ussd-gateway"}
            if settings.token is not None:
                headers["Authorization"] = f"Bearer {settings.token.reveal()}"
            backend.session = aiohttp.ClientSession(
                connector=connector, headers=headers, raise_for_status=False
            )

    async def close(self) -> None:
        for backend in self._backends.values():
            if backend.session is not None:
                await backend.session.close()
                backend.session = None

    async def call(self, spec: CallSpec, values: Values, context: CallContext) -> CallResult:
        started = time.monotonic()
        backend = self._backends.get(spec.backend)
        status: int | None = None
        result, outcome = CallResult(CallOutcome.FAILED), "failed"
        if backend is None or backend.session is None:
            pass  # the checker refuses a menu naming an unknown back-end: tests only
        elif context.deadline - started < MIN_TIMEOUT:
            outcome = "timeout"
        elif not backend.breaker.allow():
            outcome = "circuit_open"
        else:
            timeout = min(backend.settings.timeout, context.deadline - started)
            status, result, outcome = await self._request(backend, spec, values, context, timeout)
            breaker = backend.breaker
            was_closed = breaker.state is BreakerState.CLOSED
            if outcome in ("ok", "refused"):
                breaker.answered()
            else:
                breaker.failed()
            if was_closed != (breaker.state is BreakerState.CLOSED):
                self.counters.circuit(backend.name, was_closed)  # it opened, or closed again
        elapsed = time.monotonic() - started
        self.counters.call_made(spec.backend, outcome, elapsed)
        log.info(
            "backend_call",
            backend=spec.backend,
            call=spec.name,
            method=spec.method,
            path=spec.path,
            status=status,
            outcome=outcome,
            reason=result.reason,
            ms=round(elapsed * 1000, 2),
        )
        return result

    async def _request(
        self,
        backend: _Backend,
        spec: CallSpec,
        values: Values,
        context: CallContext,
        seconds: float,
    ) -> tuple[int | None, CallResult, str]:
        failed = CallResult(CallOutcome.FAILED)
        url = URL(str(backend.base).rstrip("/") + spec.path_for(values), encoded=True)
        if (url.host, url.port) != (backend.base.host, backend.base.port):
            return None, failed, "failed"  # the checker's rules make this unreachable
        headers = {"Idempotency-Key": context.idempotency_key} if spec.changes else {}
        assert backend.session is not None
        try:
            async with asyncio.timeout(seconds):
                async with backend.session.request(
                    spec.method, url, json=spec.body_for(values), headers=headers
                ) as response:
                    status = response.status
                    body = await response.content.read(MAX_ANSWER + 1)
        except TimeoutError:
            return None, failed, "timeout"
        except (aiohttp.ClientError, OSError, ValueError):
            return None, failed, "failed"
        if len(body) > MAX_ANSWER:
            return status, failed, "failed"
        answer = _json(body)
        if 200 <= status < 300:
            saved = saved_fields(spec, answer) if isinstance(answer, dict) else None
            if saved is None:
                return status, failed, "failed"
            return status, CallResult(CallOutcome.OK, saved), "ok"
        if 400 <= status < 500 and status not in NOT_REFUSALS and isinstance(answer, dict):
            reason = answer.get("reason")
            if isinstance(reason, str) and REASON.fullmatch(reason):
                return status, CallResult(CallOutcome.REFUSED, reason=reason), "refused"
        return status, failed, "failed"


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
