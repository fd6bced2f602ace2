"""Optimistic conflicts, retried in one place: read, decide, commit; on a conflict, again.

Every writer of the core reads a snapshot, decides purely, and commits with the versions it
read (``state/store.py``, rules 2, 3, 6, 8). A :class:`~state.errors.ConcurrentUpdate` means
another writer got there first: nothing was written, so the whole unit of work — the read
included — runs again. Every round at least one racer wins, so ``n`` writers racing on one
row all finish within ``n`` rounds; when even that many are not enough the caller gets
:class:`~state.errors.KeptConflicting` ("busy, try again"), never a half-done change.

Between rounds a conflicted writer pauses a short random time (:func:`pause`): writers in
other processes that collided would otherwise read and collide again in lockstep, burning
their rounds within microseconds; jittered, they spread out and each round has a winner.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from state.errors import ConcurrentUpdate, KeptConflicting

T = TypeVar("T")

ATTEMPTS = 20
"""Rounds before giving up: 20 racers on one row (the largest burst the tests and the
code-verification limits allow: 20 parallel checks of one code) all finish within it; a
conflict-free unit of work runs once."""

BACKOFF = 0.001
"""The longest pause after a first conflict (seconds); it doubles every round…"""
MAX_BACKOFF = 0.025
"""…up to this: twenty rounds pause at most about 0.4 s in all (0.2 s expected)."""

_sleep = asyncio.sleep  # tests watch the pauses here


def pause(round_: int) -> float:
    """The pause after the conflict of round ``round_`` (from 0): uniform in
    ``[0, min(MAX_BACKOFF, BACKOFF * 2**round_)]``."""
    return random.uniform(0.0, min(MAX_BACKOFF, BACKOFF * 2 ** min(round_, 16)))  # noqa: S311


async def retry_conflicts(
    attempt: Callable[[], Awaitable[T]],
    *,
    attempts: int = ATTEMPTS,
    on_conflict: Callable[[], None] | None = None,
    what: str = "the record",
) -> T:
    """Run ``attempt`` until it commits without a conflict, at most ``attempts`` times.

    ``attempt`` must read what it decides on afresh every time (a conflict means what it
    read is stale). ``on_conflict`` is called for every conflict (a metric). ``what`` names
    the contended thing in the error when the attempts run out.

    Raises:
        KeptConflicting: every attempt conflicted.
    """
    for round_ in range(attempts):
        try:
            return await attempt()
        except ConcurrentUpdate:
            if on_conflict is not None:
                on_conflict()
            if round_ + 1 < attempts:  # a jittered pause: the winners finish meanwhile
                await _sleep(pause(round_))
    raise KeptConflicting(f"{what} kept changing; try again")
