"""Prometheus metrics of the gateway, one registry per application (no globals)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

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


class _RoundTrips(Collector):
    """``ussd_store_round_trips_total``, read from the store's meter at each scrape."""

    def __init__(self, store: Metered) -> None:
        self._store = store

    def collect(self) -> Iterable[Metric]:
        yield CounterMetricFamily(
            "ussd_store_round_trips",
            "Requests this process's store sent to its database server and waited for",
            value=self._store.round_trips,
        )


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
        self._store_watched = False

    def watch_store(self, store: object) -> None:
        """Expose the store's round trips, if it counts them (an embedded SQLite file has
        no server to go round to: no counter). Called once, by ``create_app``; a second call
        does nothing."""
        if self._store_watched or not isinstance(store, Metered):
            return
        self._store_watched = True
        self.registry.register(_RoundTrips(store))

    def observe(self, dialect: str, service: str | None, outcome: str, seconds: float) -> None:
        """Record one answered hop."""
        self.hops.labels(dialect, service or "-", outcome).inc()
        self.seconds.labels(dialect).observe(seconds)

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)
