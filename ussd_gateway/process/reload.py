"""``SIGHUP``: reload the menus and the SMS commands in this process.

Every serving process (the only one, or each worker of ``--workers N``) installs its own
handler in its own event loop when its app starts (:func:`reload_on_hangup`); the
supervisor passes SIGHUP on to every worker (``workers.py``). What a reload does — check
first, install both or neither, sessions in flight finish on their menus — is
``ussd_gateway/app.py``'s ``reload_definitions``.

SIGHUP's default action ends a process, and an app is built (menus loaded) before its loop
runs: from the moment ``serve`` starts (:func:`note_hangups`), a SIGHUP that arrives before
the loop's handler is installed is noted, and that handler then runs one reload. Reloads
never overlap: a SIGHUP during a reload asks for one more after it.
"""

from __future__ import annotations

import asyncio
import signal
from types import FrameType

import structlog
from aiohttp import web

from ussd_gateway.app import reload_definitions

log = structlog.get_logger("ussd_gateway.reload")

_noted = False
"""A SIGHUP arrived while no event loop handled it."""


def note_hangups() -> None:
    """From now on a SIGHUP is noted instead of ending the process (until an app starts)."""
    signal.signal(signal.SIGHUP, _note)


def _note(_signum: int, _frame: FrameType | None) -> None:
    global _noted
    _noted = True


class _Reloads:
    """One reload at a time; a SIGHUP during one asks for another after it."""

    def __init__(self, app: web.Application) -> None:
        self._app = app
        self._running: asyncio.Task[None] | None = None
        self._again = False

    def request(self) -> None:
        if self._running is not None and not self._running.done():
            self._again = True
            return
        self._running = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            self._again = False
            try:
                await reload_definitions(self._app)
            except Exception:  # a bug in a loader must not take the process down
                log.exception("definitions_reload_failed", kept="previous")
            if not self._again:
                return

    async def stop(self) -> None:
        if self._running is not None and not self._running.done():
            self._running.cancel()
            await asyncio.gather(self._running, return_exceptions=True)


def reload_on_hangup(app: web.Application) -> None:
    """Make SIGHUP reload ``app``'s definitions while it runs (hooks run in its own loop).

    The startup hook runs after the app's resources (the engine) are built; the handler is
    taken away when the app starts shutting down, SIGHUP only noted again after that.
    """
    reloads = _Reloads(app)

    async def start(_: web.Application) -> None:
        global _noted
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, reloads.request)
        if _noted:
            _noted = False
            reloads.request()

    async def stop(_: web.Application) -> None:
        asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
        note_hangups()  # removing the loop's handler put back the default: process exit
        await reloads.stop()

    app.on_startup.append(start)
    app.on_shutdown.append(stop)
