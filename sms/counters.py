"""What the outbox worker tells about its sends: the counters port, and its no-op default.

The service implements :class:`SendCounters` with its metrics (``ussd_gateway/metrics/``);
``sms`` knows nothing of Prometheus. A ``detail`` is a sender's :class:`SendResult` detail:
a status and a short reply line, never the text or a credential.
"""

from __future__ import annotations

from typing import Protocol


class SendCounters(Protocol):
    """Told about every send attempt and every message's outcome."""

    def send_attempted(
        self, sender: str, *, accepted: bool, attempt: int, seconds: float, detail: str
    ) -> None:
        """``sender`` (``kannel``, ``jasmin``, ``file``) was given one message (its
        ``attempt``-th try) and took it or not, in ``seconds``."""

    def send_finished(self, sender: str, outcome: str) -> None:
        """A message's turn came to ``outcome``: ``accepted``, ``retry``, ``rejected``,
        ``gave_up``, ``expired``, ``too_long`` or ``unreadable``."""


class NoCounters:
    """:class:`SendCounters` that counts nothing (the default)."""

    def send_attempted(
        self, sender: str, *, accepted: bool, attempt: int, seconds: float, detail: str
    ) -> None:
        """Nothing."""

    def send_finished(self, sender: str, outcome: str) -> None:
        """Nothing."""


NO_COUNTERS = NoCounters()
