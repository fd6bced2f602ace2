"""bench/cpu.py: CPU time read from /proc, per process, main thread and load tool."""

from __future__ import annotations

import os
import threading
import time

from bench.cpu import sample


def _burn(seconds: float) -> None:
    deadline = time.thread_time() + seconds
    while time.thread_time() < deadline:
        pass


def test_a_sample_counts_every_thread_and_the_main_one_apart() -> None:
    """Work on another thread counts for the process, not for its event-loop thread."""
    pid = os.getpid()
    before = sample([pid])
    worker = threading.Thread(target=_burn, args=(0.3,))
    worker.start()
    worker.join()
    _burn(0.2)
    used = sample([pid]) - before
    # /proc counts in clock ticks (10 ms): allow a tick or two either way.
    assert 0.45 <= used.server <= 0.7
    assert 0.15 <= used.loops <= 0.35
    assert 0.45 <= used.tool <= 0.7  # process_time: this process, every thread
