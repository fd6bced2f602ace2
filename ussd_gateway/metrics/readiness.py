"""Readiness: whether this instance can do all of its work now, check by check (``/readyz``
and the ``ussd_ready`` gauges).

- ``store``: the database answered the outbox backlog read within :data:`READ_TIMEOUT`;
- ``menus``: a catalogue with at least one service is loaded;
- ``outbox``: fewer than ``max_pending`` messages pending and the oldest younger than
  ``max_age`` seconds (a backlog that grows is an SMSC that does not keep up);
- ``smsc``: the SMS sender's last send was taken (``links.py``: failing from a refused or
  failed send until the next one taken; ``unknown`` before the first);
- ``smtp``: likewise the SMTP relay's last letter;
- ``gsup`` (with ``[osmocom] enabled``): the EUSE connector's link to OsmoHLR is up
  (``gsup/connector.py``: down from a refused, failed or dropped link until it is made again).

``/healthz`` stays what load balancers poll (the database answers); ``/readyz`` tells the
whole truth, for orchestration and alerts. The backlog read is shared by every probe and
scrape for :data:`CACHE_SECONDS`, a failed one too, so a down database is not hammered. A
report holds counts, times, class names and a sender's detail: never a URL or a secret.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from state.errors import StoreError
from state.store import OutboxBacklog, OutboxStore
from ussd_gateway.metrics.links import SMSC, SMTP, Links, LinkState

READY_MAX_PENDING = 1000
"""Default: more pending SMS than this and the instance is not ready."""
READY_MAX_AGE = 300.0
"""Default: an SMS pending longer than this (seconds) and the instance is not ready."""
CACHE_SECONDS = 2.0
"""How long one backlog read answers probes and scrapes."""
READ_TIMEOUT = 2.0
"""Seconds the backlog read may take before the store counts as unreachable."""


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The outbox backlog a ready instance may have."""

    max_pending: int = READY_MAX_PENDING
    max_age: float = READY_MAX_AGE

    @classmethod
    def of(cls, settings: object) -> Thresholds:
        """From the settings ``readiness_max_pending`` and ``readiness_max_age`` where the
        configuration has them, else the defaults."""
        return cls(
            int(getattr(settings, "readiness_max_pending", READY_MAX_PENDING)),
            float(getattr(settings, "readiness_max_age", READY_MAX_AGE)),
        )


@dataclass(frozen=True, slots=True)
class Check:
    """One check: passed or not, and what it saw."""

    name: str
    ok: bool
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Report:
    """Every check at one moment."""

    checks: tuple[Check, ...]
    backlog: OutboxBacklog | None
    """The outbox backlog read, or None when the store did not answer."""

    @property
    def ready(self) -> bool:
        """Every check passed."""
        return all(check.ok for check in self.checks)

    def as_json(self) -> dict[str, Any]:
        """``{"status": "ready" | "not_ready", "checks": {name: {"ok": …, …}}}``."""
        return {
            "status": "ready" if self.ready else "not_ready",
            "checks": {c.name: {"ok": c.ok, **c.details} for c in self.checks},
        }


class Readiness:
    """Runs the checks of one instance."""

    def __init__(
        self,
        store: OutboxStore,
        links: Links,
        *,
        store_name: str,
        menus: int,
        sender: str,
        thresholds: Thresholds = Thresholds(),
        clock: Callable[[], float] = time.time,
        gsup: Callable[[], tuple[bool, Mapping[str, Any]]] | None = None,
    ) -> None:
        self._store = store
        self._links = links
        self._store_name = store_name
        self._menus = menus
        self.sender = sender
        self._thresholds = thresholds
        self._clock = clock
        self._gsup = gsup
        self._lock = asyncio.Lock()
        self._read_at = -math.inf
        self._backlog: OutboxBacklog | None = None
        self._error = ""

    async def report(self) -> Report:
        """The checks now (the backlog as read at most :data:`CACHE_SECONDS` ago)."""
        backlog, error = await self._read_backlog()
        store = {"backend": self._store_name}
        if backlog is None:
            store["error"] = error
        checks = [
            Check("store", backlog is not None, store),
            Check("menus", self._menus > 0, {"services": self._menus}),
            self._outbox(backlog),
            _link("smsc", self._links.state(SMSC), sender=self.sender),
            _link("smtp", self._links.state(SMTP)),
        ]
        if self._gsup is not None:
            up, details = self._gsup()
            checks.append(Check("gsup", up, details))
        return Report(tuple(checks), backlog)

    def _outbox(self, backlog: OutboxBacklog | None) -> Check:
        limits = {
            "max_pending": self._thresholds.max_pending,
            "max_age_seconds": self._thresholds.max_age,
        }
        if backlog is None:
            return Check("outbox", False, {**limits, "error": "not read: the store did not answer"})
        ok = (
            backlog.pending <= self._thresholds.max_pending
            and backlog.oldest_age <= self._thresholds.max_age
        )
        seen = {"pending": backlog.pending, "oldest_age_seconds": round(backlog.oldest_age, 3)}
        return Check("outbox", ok, {**seen, **limits})

    async def _read_backlog(self) -> tuple[OutboxBacklog | None, str]:
        async with self._lock:  # concurrent probes share one read
            if time.monotonic() - self._read_at < CACHE_SECONDS:
                return self._backlog, self._error
            try:
                async with asyncio.timeout(READ_TIMEOUT):
                    self._backlog, self._error = await self._store.outbox_backlog(self._clock()), ""
            except TimeoutError:
                self._backlog, self._error = None, "timeout"
            except StoreError as exc:  # the class only: a message might name the server
                self._backlog, self._error = None, type(exc).__name__
            self._read_at = time.monotonic()
            return self._backlog, self._error


def _link(name: str, state: LinkState, **extra: str) -> Check:
    details: dict[str, Any] = {**extra, "state": state.status}
    if state.ok_at is not None:
        details["last_ok_at"] = state.ok_at
    if state.failing_since is not None:
        details.update(
            failing_since=state.failing_since,
            failures=state.failures,
            last_failure_at=state.failed_at,
            detail=state.detail,
        )
    return Check(name, state.up, details)
