"""Prometheus metrics of the gateway, one registry per application (no globals)."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

# Hop latency buckets around the 2 s a USSD centre allows, fine below 20 ms.
_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0)

CONTENT_TYPE = CONTENT_TYPE_LATEST


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

    def observe(self, dialect: str, service: str | None, outcome: str, seconds: float) -> None:
        """Record one answered hop."""
        self.hops.labels(dialect, service or "-", outcome).inc()
        self.seconds.labels(dialect).observe(seconds)

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)
