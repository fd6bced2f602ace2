"""What the account's services tell about their work: counter ports and a no-op default.

The service implements them with its metrics (``ussd_gateway/metrics/``); the account knows
nothing of Prometheus. Labels are small fixed sets (purposes, outcomes, letter kinds), never
a number, a code or an address.
"""

from __future__ import annotations

from typing import Protocol


class CodeCounters(Protocol):
    """Told what each code request and each code check came to."""

    def code_requested(self, purpose: str, outcome: str) -> None:
        """A code request for ``purpose`` came to ``outcome`` (``RequestOutcome``)."""

    def code_checked(self, purpose: str, outcome: str) -> None:
        """A code check for ``purpose`` came to ``outcome`` (``CheckOutcome``)."""


class MailCounters(Protocol):
    """Told how each delivery attempt of a letter went, and when one is given up."""

    def mail_attempted(self, kind: str, *, delivered: bool, error: str) -> None:
        """One attempt to hand a ``kind`` letter to the relay; ``error`` is the failure's
        class name (empty when delivered)."""

    def mail_given_up(self, kind: str) -> None:
        """A ``kind`` letter was dropped after its last retry."""


class NoCounters:
    """Every counter port of the account, counting nothing (the default)."""

    def code_requested(self, purpose: str, outcome: str) -> None:
        """Nothing."""

    def code_checked(self, purpose: str, outcome: str) -> None:
        """Nothing."""

    def mail_attempted(self, kind: str, *, delivered: bool, error: str) -> None:
        """Nothing."""

    def mail_given_up(self, kind: str) -> None:
        """Nothing."""


NO_COUNTERS = NoCounters()
