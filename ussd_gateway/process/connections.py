"""The connections a serving process accepts, and what it does with the ones it should not.

aiohttp's defaults are sized for a web site behind a proxy, not for SMSCs and handsets on
the open network. :func:`serve` runs an app as ``web.run_app`` does, but on
:class:`GuardedSite` sites, whose connections get:

- **Parser limits sized to our peers** (:data:`MAX_LINE_SIZE`, :data:`MAX_FIELD_SIZE`): a
  long Cyrillic SMS in a Kannel get-url is a request line past aiohttp's 8,190 bytes.
- **Error bodies that never quote the request** (:class:`GatewayRequestHandler`): aiohttp's
  400 for a request it cannot parse echoes the start of the request line, a ``token=``
  with it. Ours is the status and its phrase; the log line is left to
  :class:`~ussd_gateway.process.logs.OutsideNoise` (a rate-limited warning, no traceback).
- **A deadline for the headers** (:data:`HEADER_SECONDS`): aiohttp has no header read
  timeout, but its keep-alive timer starts with the connection (and again after every
  answer) and closes it when no complete request has arrived by then; that is the timer
  used, at 15 s instead of run_app's 75 s (aiohttp's own 3,630 s). A peer's idle
  keep-alive connection is closed after as long, and it reconnects. The body has no
  deadline of its own: a request whose body trickles holds its connection, and the cap
  below bounds how many can.
- **A cap on open connections below the descriptor limit** (:func:`connection_cap`): at
  the cap a new connection makes room by closing the oldest one that is not in the middle
  of a request (an idle keep-alive, or one still sending its headers); only when every
  open connection is handling a request is the new one answered ``503`` and closed
  (:class:`ConnectionGuard`). A flood of connections that never finish their headers so
  never takes the last descriptors (asyncio's accept loop would then fail every second,
  and no one be served): they push each other out, and a handset's request gets in.
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
import signal
import socket
import time
from http import HTTPStatus
from typing import Any

import structlog
from aiohttp import web
from aiohttp.web_request import BaseRequest

from ussd_gateway.process.listen import BACKLOG

log = structlog.get_logger("ussd_gateway.process.connections")

MO_TEXT_CHARS = 1600
"""The longest MO text we take (``sms.mo``: ten concatenated UCS-2 parts, rounded)."""
MAX_LINE_SIZE = 16 * 1024
"""The request line a peer may send. Kannel's get-url carries the MO text in the query:
1,600 UCS-2 characters, each up to 3 bytes of UTF-8, each byte percent-encoded as 3
characters: 1,600 × 3 × 3 = 14,400 bytes; the path, the token, the numbers and Kannel's
other fields (``smsc``, ``id``, ``coding``, …) fit in the 1,984 bytes left of 16 KiB."""
MAX_FIELD_SIZE = 16 * 1024
"""One header: Kannel's post-url sends the MO's details as ``X-Kannel-*`` headers (a UDH
percent-encoded, the MO's metadata); the same bound as the request line."""
HEADER_SECONDS = 15.0
"""How long a connection may take to send a complete request line and headers, from its
start or from our last answer on it (aiohttp's keep-alive timer, see above)."""
RESERVED_DESCRIPTORS = 64
"""Descriptors kept out of the cap at the least: the store, the log, the SMSC and mail
connections, the menus read again on SIGHUP (an eighth of the limit when that is more)."""
_REFUSAL = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
    b"Content-Length: 24\r\nConnection: close\r\n\r\n503 Service Unavailable\n"
)


def connection_cap(soft_limit: int | None = None) -> int:
    """Open connections one process takes: its ``RLIMIT_NOFILE`` (soft) minus a reserve."""
    if soft_limit is None:
        soft_limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        if soft_limit == resource.RLIM_INFINITY:
            soft_limit = 1 << 20
    reserve = max(RESERVED_DESCRIPTORS, soft_limit // 8)
    return max(16, soft_limit - reserve)


def handler_args() -> dict[str, Any]:
    """What every connection's :class:`GatewayRequestHandler` is made with."""
    return {
        "keepalive_timeout": HEADER_SECONDS,
        "max_line_size": MAX_LINE_SIZE,
        "max_field_size": MAX_FIELD_SIZE,
        "access_log": None,
    }


class GatewayRequestHandler(web.RequestHandler):
    """aiohttp's connection handler with a fixed error body, counted by its guard."""

    def __init__(self, guard: ConnectionGuard, manager: web.Server, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._guard = guard
        self._counted = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._guard.handlers[self] = None
        super().connection_made(transport)

    def connection_lost(self, exc: BaseException | None) -> None:
        self._guard.handlers.pop(self, None)
        super().connection_lost(exc)

    @property
    def between_requests(self) -> bool:
        """Waiting for a request's headers (or idle): nothing of ours would be cut short."""
        return self._current_request is None

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """Log (a 4xx through the outside-noise filter, one line), answer the status and its
        phrase only: aiohttp's text quotes the request (its URL, a ``token=``)."""
        if status >= HTTPStatus.INTERNAL_SERVER_ERROR:
            self.log_exception("Error handling request", exc_info=exc)
        else:
            self.logger.warning("Error handling request", exc_info=exc)
        if request.writer.output_size > 0:  # as aiohttp: the answer is under way
            raise ConnectionError("Response is sent already, cannot send the error")
        phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""
        resp = web.Response(status=status, text=f"{status} {phrase}\n", content_type="text/plain")
        resp.force_close()
        return resp


class _Refusal(asyncio.Protocol):
    """A connection over the cap: ``503`` and closed, nothing read."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.write(_REFUSAL)  # type: ignore[attr-defined]
        transport.close()


EVICTION_SCAN = 64
"""How many of the oldest connections the guard looks through for one to close."""


class ConnectionGuard:
    """The protocol factory of the listening sockets: a handler per connection up to
    ``cap`` open ones; at the cap the oldest connection between requests is closed for the
    new one, or (none found) the new one refused. Both logged at most once a minute."""

    def __init__(self, server: web.Server, cap: int, **kwargs: Any) -> None:
        self._server = server
        self._kwargs = {**handler_args(), **kwargs}
        self.cap = cap
        self.handlers: dict[GatewayRequestHandler, None] = {}  # open ones, oldest first
        self._closed = self._refused = 0
        self._last_logged = -60.0

    def __call__(self) -> asyncio.Protocol:
        if len(self.handlers) >= self.cap:
            if self._make_room():
                self._closed += 1
            else:
                self._refused += 1
                self._note()
                return _Refusal()
            self._note()
        loop = asyncio.get_running_loop()
        return GatewayRequestHandler(self, self._server, loop=loop, **self._kwargs)

    def _make_room(self) -> bool:
        for _, handler in zip(range(EVICTION_SCAN), self.handlers, strict=False):
            if handler.between_requests:
                del self.handlers[handler]  # its descriptor is freed as the loop turns
                handler.force_close()
                return True
        return False

    def _note(self) -> None:
        now = time.monotonic()
        if now - self._last_logged >= 60:
            log.warning("connections_at_cap", cap=self.cap, open=len(self.handlers),
                        closed_idle=self._closed, refused=self._refused)  # fmt: skip
            self._last_logged, self._closed, self._refused = now, 0, 0


class GuardedSite(web.SockSite):
    """aiohttp's site on a bound socket, with :class:`ConnectionGuard` as its factory."""

    def __init__(self, runner: web.BaseRunner, sock: Any, guard: ConnectionGuard) -> None:
        super().__init__(runner, sock, backlog=BACKLOG)
        self._guard = guard

    async def start(self) -> None:
        await web.BaseSite.start(self)  # registers the site with its runner
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._guard, sock=self._sock, backlog=BACKLOG)


def serve(app: web.Application, sockets: list[socket.socket]) -> None:
    """Serve ``app`` on ``sockets`` until ``GracefulExit``: ``web.run_app``'s loop, with
    :class:`GuardedSite` for its sites (run_app makes its own, with aiohttp's handlers).

    As run_app: a stop raises ``GracefulExit`` out of the loop, then the main task is
    cancelled, which runs the runner's cleanup (drain for up to 10 s, the shutdown hooks).
    """
    loop = asyncio.new_event_loop()
    cap = connection_cap()

    async def main() -> None:
        runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=10, access_log=None)
        await runner.setup()
        try:
            assert runner.server is not None
            guard = ConnectionGuard(runner.server, cap)
            for sock in sockets:
                await GuardedSite(runner, sock, guard).start()
            await asyncio.Event().wait()  # until cancelled
        finally:
            await runner.cleanup()

    main_task = loop.create_task(main())
    try:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(main_task)
    except (web.GracefulExit, KeyboardInterrupt):
        pass
    finally:
        try:
            if not main_task.done():
                main_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    loop.run_until_complete(main_task)
        finally:
            _cancel_rest(loop)
            loop.run_until_complete(loop.shutdown_asyncgens())
            _ignore_signals_from_now(loop)
            loop.close()
            asyncio.set_event_loop(None)


_QUIETED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _ignore_signals_from_now(loop: asyncio.AbstractEventLoop) -> None:
    """The process has stopped once: later stops and reloads are dropped by the kernel.

    Done before ``loop.close()``, which closes its wakeup socket first and removes the
    handlers after: a signal in between, taken by any thread (aiosqlite's, the executor's),
    writes to a closed descriptor ("Exception ignored when trying to write to the signal
    wakeup fd"), and removing the SIGINT handler puts back Python's ``KeyboardInterrupt``.
    Here each handler goes while the socket is open, and is replaced by SIG_IGN at once; a
    SIGINT landing between the two raises in this loop, which only goes round again.
    """
    for signum in _QUIETED:
        while True:
            try:
                loop.remove_signal_handler(signum)  # False when it was not there: idempotent
                signal.signal(signum, signal.SIG_IGN)
                break
            except KeyboardInterrupt:
                continue


def _cancel_rest(loop: asyncio.AbstractEventLoop) -> None:
    """The tasks still pending once the app is cleaned up, cancelled and awaited."""
    rest = asyncio.all_tasks(loop)
    for task in rest:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*rest, return_exceptions=True))
    for task in rest:
        if not task.cancelled() and task.exception() is not None:
            context = {"message": "unhandled exception during shutdown", "task": task}
            loop.call_exception_handler({**context, "exception": task.exception()})
