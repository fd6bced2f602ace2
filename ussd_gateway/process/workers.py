"""``serve --workers N``: N processes serving one port (SO_REUSEPORT) and one SQLite file.

One Python process runs its event loop on one core; the kernel spreads new connections over
N listening sockets bound to the same port. The processes share nothing but the database,
and the store is built for that (``state/sqlite/``): ``BEGIN IMMEDIATE`` with a busy
timeout serialises writers; a hop's session write is conditional on the hop counter it
read and a subscriber write on the row version it read, so a hop raced by another process
(the next hop of the same session on another connection) fails with ``ConcurrentUpdate``
and the engine runs it again from a fresh read — a repeated hop then gets the stored
reply. Each worker also runs the session sweeper (an idempotent UPDATE/DELETE) and the
outbox worker, whose ``claim_outbox`` leases due rows atomically, so no SMS is sent twice.

The parent only supervises: it forwards SIGTERM/SIGINT, and when one worker exits it stops
the others; a worker dies with its parent (``PR_SET_PDEATHSIG``), so a killed gateway
leaves no orphan serving the port.
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
from types import FrameType

from ussd_gateway.metrics.shared import share_between_workers

_PR_SET_PDEATHSIG = 1


def serve_workers(count: int, serve: Callable[[], None]) -> int:
    """Run ``serve`` in ``count`` forked processes until one exits; returns its status."""
    share_between_workers()  # one /metrics for every worker: before the first fork
    context = multiprocessing.get_context("fork")
    workers = [
        context.Process(target=_worker, args=(serve,), name=f"ussd-gateway-worker-{n}")
        for n in range(count)
    ]
    for worker in workers:
        worker.start()

    def forward(signum: int, _: FrameType | None) -> None:
        for worker in workers:
            if worker.pid is not None and worker.is_alive():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.pid, signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    wait([worker.sentinel for worker in workers])
    first = next(w for w in workers if not w.is_alive())
    for worker in workers:
        if worker.is_alive():
            worker.terminate()
    for worker in workers:
        worker.join(timeout=15)
        if worker.is_alive():
            worker.kill()
            worker.join()
    return first.exitcode or 0


def _worker(serve: Callable[[], None]) -> None:
    _die_with_parent()
    serve()


def _die_with_parent() -> None:
    # Linux only; elsewhere a killed parent may leave workers to be stopped by hand.
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(libc_name, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
