"""Counting a load run: hop latencies, finished sessions and wrong replies, per kind.

Latencies are kept whole (a 20 s run at a few thousand hops a second is a few hundred
thousand floats), so percentiles are exact rather than from a histogram's buckets.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

ERROR_SAMPLES = 5
"""Distinct error messages kept for the report: enough to see what went wrong."""


def percentile(sorted_values: list[float], q: float) -> float:
    """The nearest-rank ``q`` quantile (0 < q ≤ 1) of already sorted values; 0 if none."""
    if not sorted_values:
        return 0.0
    rank = max(1, int(-(-q * len(sorted_values) // 1)))  # ceil(q·n), at least 1
    return sorted_values[min(rank, len(sorted_values)) - 1]


@dataclass
class KindStats:
    """One kind of dialogue (close, open, password, codes, …)."""

    latencies: list[float] = field(default_factory=list)
    sessions: int = 0
    errors: int = 0

    def summary(self, seconds: float) -> dict[str, Any]:
        ms = sorted(t * 1000 for t in self.latencies)
        return {
            "hops": len(ms),
            "sessions": self.sessions,
            "errors": self.errors,
            "hops_per_s": len(ms) / seconds if seconds else 0.0,
            "sessions_per_s": self.sessions / seconds if seconds else 0.0,
            "p50_ms": percentile(ms, 0.50),
            "p95_ms": percentile(ms, 0.95),
            "p99_ms": percentile(ms, 0.99),
        }


@dataclass
class LoadStats:
    """Everything one run counted; ``recording`` is off during warm-up."""

    kinds: dict[str, KindStats] = field(default_factory=lambda: defaultdict(KindStats))
    error_samples: list[str] = field(default_factory=list)
    recording: bool = True

    def hop(self, kind: str, seconds: float) -> None:
        if self.recording:
            self.kinds[kind].latencies.append(seconds)

    def session(self, kind: str) -> None:
        if self.recording:
            self.kinds[kind].sessions += 1

    def error(self, kind: str, message: str) -> None:
        # Errors count even during warm-up: a wrong reply is wrong whenever it comes.
        self.kinds[kind].errors += 1
        if len(self.error_samples) < ERROR_SAMPLES and message not in self.error_samples:
            self.error_samples.append(f"{kind}: {message}")

    @property
    def errors(self) -> int:
        return sum(k.errors for k in self.kinds.values())

    @property
    def hops(self) -> int:
        return sum(len(k.latencies) for k in self.kinds.values())

    def summary(self, seconds: float) -> dict[str, Any]:
        """Totals over every kind plus each kind's own figures (JSON-ready)."""
        total = KindStats(
            latencies=[t for k in self.kinds.values() for t in k.latencies],
            sessions=sum(k.sessions for k in self.kinds.values()),
            errors=self.errors,
        )
        return {
            **total.summary(seconds),
            "seconds": seconds,
            "kinds": {name: k.summary(seconds) for name, k in sorted(self.kinds.items())},
            "error_samples": list(self.error_samples),
        }


FIGURES = (
    ("hops_per_s", "hops/s", "{:.0f}"),
    ("sessions_per_s", "sessions/s", "{:.0f}"),
    ("p50_ms", "p50 ms", "{:.2f}"),
    ("p95_ms", "p95 ms", "{:.2f}"),
    ("p99_ms", "p99 ms", "{:.2f}"),
    ("errors", "errors", "{:d}"),
)
"""The figures a report shows: summary key, label, format."""


def table(summary: dict[str, Any]) -> list[str]:
    """A run's summary as human-readable lines: totals, then one line per kind."""
    lines = [
        f"{'':<12}" + "".join(f"{label:>12}" for _, label, _ in FIGURES),
        f"{'all':<12}" + "".join(f"{fmt.format(summary[k]):>12}" for k, _, fmt in FIGURES),
    ]
    for name, kind in summary["kinds"].items():
        lines.append(f"{name:<12}" + "".join(f"{fmt.format(kind[k]):>12}" for k, _, fmt in FIGURES))
    lines += [f"  ! {sample}" for sample in summary["error_samples"]]
    return lines
