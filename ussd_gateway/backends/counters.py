"""What back-end calls report to the metrics (``metrics/service.py`` implements it)."""

from __future__ import annotations

from typing import Protocol


class BackendCounters(Protocol):
    def call_made(self, backend: str, outcome: str, seconds: float) -> None:
        """One call: ``ok``, ``refused``, ``failed``, ``timeout`` or ``circuit_open``."""

    def circuit(self, backend: str, is_open: bool) -> None:
        """The back-end's breaker opened or closed."""


class NoCounters:
    def call_made(self, backend: str, outcome: str, seconds: float) -> None:
        return None

    def circuit(self, backend: str, is_open: bool) -> None:
        return None


NO_COUNTERS: BackendCounters = NoCounters()
