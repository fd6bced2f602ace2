"""The ``/metrics`` page: the hop metrics, the service's counters, the values read at scrape
time, and the process's own.

Read at scrape time (never stored, so right whichever worker answers):

- ``ussd_sms_outbox_pending``, ``ussd_sms_outbox_oldest_age_seconds`` — the outbox
  backlog, from the store (shared with ``/readyz``: one read per ``CACHE_SECONDS``);
- ``ussd_store_up`` — that read was answered;
- ``ussd_sms_sender_up{sender}``, ``ussd_smtp_up`` — the links' last-known state
  (``links.py``): 0 from a failed attempt until the next one that works;
- ``ussd_ready``, ``ussd_ready_check{check}`` — what ``/readyz`` says, as 1 or 0;
- ``ussd_gsup_up`` — with ``[osmocom] enabled``, the EUSE connector's link is up.

In one process the page renders the application's registries, with ``process_*`` and
``python_info`` of that process. With ``serve --workers N`` it renders every worker's
files (``shared.py``), each worker's ``process_*`` labelled ``pid``; the store's round
trips, a count each worker's store keeps in memory, are copied into a file-backed counter
every :data:`SYNC_SECONDS` (and by the worker answering, at the scrape), so the page may
lag that much behind the other workers for that one counter.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from pathlib import Path

from prometheus_client import PlatformCollector, ProcessCollector, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from ussd_gateway.hop.metrics import HopMetrics
from ussd_gateway.metrics.readiness import Readiness, Report
from ussd_gateway.metrics.service import ServiceMetrics
from ussd_gateway.metrics.shared import SharedCollector, WorkerProcesses

CONTENT_TYPE = CONTENT_TYPE_LATEST
SYNC_SECONDS = 1.0
"""How often a worker copies its store's round trips into the shared counter."""


class _ScrapeTime(Collector):
    """The gauges of one readiness report."""

    def __init__(self, sender: str) -> None:
        self.sender = sender
        self.report: Report | None = None

    def collect(self) -> Iterable[Metric]:
        report = self.report
        if report is None:
            return []
        ok = {check.name: check.ok for check in report.checks}
        found: list[Metric] = [
            GaugeMetricFamily(
                "ussd_ready", "1 when every readiness check passes (/readyz 200)", report.ready
            ),
            GaugeMetricFamily(
                "ussd_store_up", "1 when the store answered the last read", ok["store"]
            ),
            GaugeMetricFamily(
                "ussd_smtp_up", "0 from a failed letter until the relay takes one", ok["smtp"]
            ),
        ]
        checks = GaugeMetricFamily(
            "ussd_ready_check", "Each readiness check: 1 passed, 0 failed", labels=["check"]
        )
        for name, passed in ok.items():
            checks.add_metric([name], passed)
        sender = GaugeMetricFamily(
            "ussd_sms_sender_up",
            "0 from a send the SMS sender did not take until it takes one",
            labels=["sender"],
        )
        sender.add_metric([self.sender], ok["smsc"])
        found += [checks, sender]
        if "gsup" in ok:
            found.append(
                GaugeMetricFamily(
                    "ussd_gsup_up", "1 while the EUSE connector's link to OsmoHLR is up", ok["gsup"]
                )
            )
        if report.backlog is not None:
            found.append(
                GaugeMetricFamily(
                    "ussd_sms_outbox_pending",
                    "SMS waiting in the outbox (leased for sending or waiting for a retry)",
                    report.backlog.pending,
                )
            )
            found.append(
                GaugeMetricFamily(
                    "ussd_sms_outbox_oldest_age_seconds",
                    "Age of the oldest pending SMS (0 when none is pending)",
                    report.backlog.oldest_age,
                )
            )
        return found


class _Page:
    """What one scrape collects, in order."""

    def __init__(self, collectors: Sequence[Collector]) -> None:
        self._collectors = collectors

    def collect(self) -> Iterable[Metric]:
        for collector in self._collectors:
            yield from collector.collect()


class Exposition:
    """Renders the page of this process, or of every worker when ``shared`` is the
    directory they count in."""

    def __init__(
        self,
        *,
        hops: HopMetrics,
        service: ServiceMetrics,
        readiness: Readiness,
        shared: Path | None,
    ) -> None:
        self._hops = hops
        self._readiness = readiness
        self._scrape_time = _ScrapeTime(readiness.sender)
        self.shared = shared
        platform = PlatformCollector(registry=None)
        counted: list[Collector]
        if shared is None:
            counted = [hops.registry, service.registry, ProcessCollector(registry=None)]
        else:
            counted = [SharedCollector(shared), WorkerProcesses(shared)]
        self._page = _Page([*counted, self._scrape_time, platform])

    async def render(self) -> bytes:
        """The text exposition format, read now."""
        self._hops.sync_store()
        self._scrape_time.report = await self._readiness.report()
        return generate_latest(self._page)

    async def sync(self) -> None:
        """Copy the store's round trips into the shared counter, every :data:`SYNC_SECONDS`
        (runs until cancelled; only needed with ``serve --workers N``)."""
        while True:
            await asyncio.sleep(SYNC_SECONDS)
            self._hops.sync_store()
