"""``serve --workers N``: N processes serving one port (SO_REUSEPORT) and one SQLite file.

One Python process runs its event loop on one core; the kernel spreads new connections over
N listening sockets bound to the same port. The processes share the database and, for
``/metrics``, one directory of counters (``ussd_gateway/metrics/shared.py``); the store
is built for that (``state/sqlite/``): ``BEGIN IMMEDIATE`` with a busy
timeout serialises writers; a hop's session write is conditional on the hop counter it
read and a subscriber write on the row version it read, so a hop raced by another process
(the next hop of the same session on another connection) fails with ``ConcurrentUpdate``
and the engine runs it again from a fresh read — a repeated hop then gets the stored
reply. Each worker also runs the session sweeper (an idempotent UPDATE/DELETE) and the
outbox worker, whose ``claim_outbox`` leases due rows atomically, so no SMS is sent twice.

The parent only supervises: it passes SIGTERM, SIGINT and SIGHUP (reload) on to every
worker, and when one worker exits on its own it stops the others; a worker dies with its
parent (``PR_SET_PDEATHSIG``), so a killed gateway leaves no orphan serving the port.

Stopping: a SIGTERM or SIGINT goes to each worker once (never again as ``terminate``: the
worker is draining already), the parent waits for all of them and exits 0 when every one
stopped cleanly. Which worker ended is read from the sentinel ``wait`` returned: a
sentinel is ready as soon as the child's files are closed, a moment before the child can
be reaped, so "the first that is not alive" may be none of them yet.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import multiprocessing
import os
import signal
from collections.abc import Callable
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

from ussd_gateway.metrics.shared import share_between_workers

_PR_SET_PDEATHSIG = 1
_STOPS = (signal.SIGTERM, signal.SIGINT)
_PASSED_ON = (*_STOPS, signal.SIGHUP)
_CLEAN_STOPS = {0, *(-s for s in _STOPS)}
"""A stopped worker's exit codes: drained, or ended by the signal before it handled any."""

_Handler = Callable[[int, FrameType | None], Any] | int | None


def serve_workers(count: int, serve: Callable[[], None]) -> int:
    """Run ``serve`` in ``count`` forked processes until one exits or a stop signal comes;
    returns the exit status (0 after a clean stop)."""
    share_between_workers()  # one /metrics for every worker: before the first fork
    context = multiprocessing.get_context("fork")
    workers: list[BaseProcess] = []
    reaped: set[int] = set()
    stopping = False

    def forward(signum: int, _: FrameType | None) -> None:
        nonlocal stopping
        stopping = stopping or signum in _STOPS
        for worker in workers:
            if worker.pid is not None and worker.pid not in reaped:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.pid, signum)

    # The signals wait while the workers start: each worker first puts back the handlers
    # the parent had before these (serve's own), and a signal that came meanwhile reaches
    # every worker once all have a pid.
    signal.pthread_sigmask(signal.SIG_BLOCK, _PASSED_ON)
    try:
        inherited = {signum: signal.signal(signum, forward) for signum in _PASSED_ON}
        for n in range(count):
            process = context.Process(
                target=_worker, args=(serve, inherited), name=f"ussd-gateway-worker-{n}"
            )
            workers.append(process)
            process.start()
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _PASSED_ON)
    ready = wait([worker.sentinel for worker in workers])
    first = next(worker for worker in workers if worker.sentinel in ready)
    first.join()
    reaped.add(first.pid or 0)
    if not stopping:  # it ended on its own (a crash, a failed start): stop the rest
        for worker in workers:
            if worker is not first:
                worker.terminate()
    for worker in workers:
        worker.join(timeout=15)
        if worker.exitcode is None:
            worker.kill()
            worker.join()
        reaped.add(worker.pid or 0)
    if stopping:
        failed = [w.exitcode for w in workers if w.exitcode not in _CLEAN_STOPS]
        return _status(failed[0]) if failed else 0
    return _status(first.exitcode)


def _status(exitcode: int | None) -> int:
    """A worker's exit code as the process's: a signal ``n`` (``-n``) as ``128 + n``."""
    if exitcode is None or exitcode >= 0:
        return exitcode or 0
    return 128 - exitcode


def _worker(serve: Callable[[], None], inherited: dict[int, _Handler]) -> None:
    for signum, handler in inherited.items():
        if handler is not None:
            signal.signal(signum, handler)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _PASSED_ON)
    _die_with_parent()
    serve()


def _die_with_parent() -> None:
    # Linux only; elsewhere a killed parent may leave workers to be stopped by hand.
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(libc_name, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
