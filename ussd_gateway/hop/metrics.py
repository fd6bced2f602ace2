"""Prometheus metrics of USSD hops, one registry per application (no globals).

The store's round trips (``ussd_store_round_trips_total``, a PostgreSQL store's meter) are
a counter brought up to the store's own count by :meth:`HopMetrics.sync_store`, which the
page calls at each scrape (``ussd_gateway/metrics/exposition.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

# Hop latency buckets around the 2 s a USSD centre allows, fine below 20 ms.
_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0)

CONTENT_TYPE = CONTENT_TYPE_LATEST


@runtime_checkable
class Metered(Protocol):
    """A store that counts its requests to a database server (``PostgresStore``)."""

    @property
    def round_trips(self) -> int:
        """Requests sent to the server and waited for, so far."""
        ...


@dataclass
class HopMetrics:
    """Counters and a latency histogram of USSD hops."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.hops = Counter(
            "ussd_hops",
            "USSD hops answered, by dialect, service and outcome",
            ["dialect", "service", "outcome"],
            registry=self.registry,
        )
        self.seconds = Histogram(
            "ussd_hop_seconds",
            "Time to answer a hop, from parsed request to committed reply",
            ["dialect"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.conflicts = Counter(
            "ussd_hop_conflicts",
            "Hops retried because another writer changed a row first",
            registry=self.registry,
        )
        self._store: Metered | None = None
        self._round_trips: Counter | None = None
        self._synced = 0

    def watch_store(self, store: object) -> None:
        """Expose the store's round trips, if it counts them (an embedded SQLite file has
        no server to go round to: no counter). Called once, by ``create_app``; a second call
        does nothing."""
        if self._store is not None or not isinstance(store, Metered):
            return
        self._store = store
        self._round_trips = Counter(
            "ussd_store_round_trips",
            "Requests the store sent to its database server and waited for",
            registry=self.registry,
        )

    def sync_store(self) -> None:
        """Bring the round-trip counter up to the store's count."""
        if self._store is None or self._round_trips is None:
            return
        count = self._store.round_trips
        if count > self._synced:
            self._round_trips.inc(count - self._synced)
            self._synced = count

    def observe(self, dialect: str, service: str | None, outcome: str, seconds: float) -> None:
        """Record one answered hop."""
        self.hops.labels(dialect, service or "-", outcome).inc()
        self.seconds.labels(dialect).observe(seconds)

    def render(self) -> bytes:
        """The text exposition format of these metrics alone."""
        self.sync_store()
        return generate_latest(self.registry)
