"""A circuit breaker per back-end: a back-end that keeps failing is not waited on.

Closed, every call goes through. After ``failures_to_open`` consecutive failures it opens:
for ``open_seconds`` every call fails at once (the subscriber gets the apology in
milliseconds instead of after the hop's whole budget, and the back-end gets room to
recover). Then it is half open: one trial call goes through while the others keep failing
at once; its success closes the breaker, its failure opens it again. A business refusal is
an answer, not a failure: it closes the breaker like a success.

Written here rather than taken from a library: the maintained ones (``pybreaker``,
``aiobreaker``) wrap a callable and count exceptions, while a call here never raises (its
failure is a result); what is needed is these three states and a clock.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable


class BreakerState(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class Breaker:
    """The state of one back-end's circuit."""

    def __init__(
        self,
        *,
        failures_to_open: int,
        open_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failures_to_open = failures_to_open
        self.open_seconds = open_seconds
        self.clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial = False

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self.clock() - self._opened_at < self.open_seconds:
            return BreakerState.OPEN
        return BreakerState.HALF_OPEN

    def allow(self) -> bool:
        """Whether a call may go through now (in half open: the one trial)."""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.HALF_OPEN and not self._trial:
            self._trial = True
            return True
        return False

    def answered(self) -> None:
        """The back-end answered (a success or a business refusal)."""
        self._failures = 0
        self._opened_at = None
        self._trial = False

    def failed(self) -> None:
        """The back-end failed to answer as it should."""
        self._failures += 1
        if self._trial or self._failures >= self.failures_to_open:
            self._opened_at = self.clock()
        self._trial = False
