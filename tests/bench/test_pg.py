"""bench/pg.py and the split runs of bench/cpu.py: what is counted, and how runs merge."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import asyncpg
import pytest
from pgserver import SERVER, fresh_database

from bench import pg
from bench.cpu import merge, split
from simulators.load import LoadConfig, LoadResult
from simulators.load_stats import LoadStats
from ussd_gateway.hop.metrics import HopMetrics


def test_process_titles_say_whose_a_process_is() -> None:
    db = "ussd_bench_1_ab"
    assert pg.classify(f"postgres: 15/main: root {db} 127.0.0.1(4242) idle", db) == "ours"
    assert pg.classify(f"postgres: root {db} [local] UPDATE", db) == "ours"
    assert pg.classify(f"postgres: 15/main: autovacuum worker {db}", db) == "ours"
    assert pg.classify("postgres: 15/main: walwriter", db) == "shared"
    assert pg.classify("postgres: checkpointer ", db) == "shared"
    assert pg.classify("postgres: 15/main: root other 127.0.0.1(4243) idle", db) == "other"
    assert pg.classify(f"postgres: root {db}x 127.0.0.1(1) idle", db) == "other"
    # A backend just forked still has the postmaster's command line.
    assert pg.classify("/usr/lib/postgresql/15/bin/postgres -D /var/lib/x", db) == "other"


@dataclass
class _Meter:
    round_trips: int = 0


def test_round_trips_come_from_metrics_beside_the_hops() -> None:
    metrics = HopMetrics()
    metrics.observe("native", "*141*3*6#", "continue", 0.01)
    metrics.observe("native", "*141*3*6#", "end", 0.01)
    metrics.observe("africastalking", None, "end", 0.01)
    assert pg.store_counts(metrics.render().decode()) == (3.0, None)  # no meter: no counter
    store = _Meter(7)
    metrics.watch_store(store)
    metrics.watch_store(_Meter(1000))  # once per application
    store.round_trips = 10
    page = metrics.render().decode()
    assert "# TYPE ussd_store_round_trips_total counter" in page
    assert pg.store_counts(page) == (3.0, 10.0)


def test_a_run_splits_into_disjoint_parts_and_merges_back() -> None:
    config = LoadConfig(url="http://a", handsets=51, subscribers=1001, first=10, seed=5)
    parts = split(config, ["http://a", "http://b"])
    assert [(p.url, p.handsets, p.first, p.subscribers, p.seed) for p in parts] == [
        ("http://a", 26, 10, 501, 5),
        ("http://b", 25, 511, 500, 6),
    ]
    results = []
    for part, latencies in zip(parts, ([0.001, 0.003], [0.002, 0.004, 0.005]), strict=True):
        stats = LoadStats()
        for t in latencies:
            stats.hop("close", t)
        stats.session("close")
        stats.error("open", f"wrong at {part.url}")
        results.append(LoadResult(stats, 2.0 if part.url.endswith("a") else 3.0, part))
    summary = merge(results).summary()
    assert summary["handsets"] == 51 and summary["hops"] == 5 and summary["errors"] == 2
    assert summary["seconds"] == 2.5 and summary["hops_per_s"] == 2.0
    assert summary["p50_ms"] == 3.0 and summary["p99_ms"] == 5.0  # pooled, not averaged
    assert summary["error_samples"] == ["open: wrong at http://a", "open: wrong at http://b"]


@pytest.mark.postgres
async def test_the_servers_cpu_counts_our_backends_and_not_another_databases() -> None:
    async with (
        fresh_database("ussd_bench_test") as ours,
        fresh_database("ussd_bench_test") as other,
    ):
        try:
            meter = pg.ServerCpu(await pg.postmaster_of(ours), ours.rpartition("/")[2])
        except (OSError, RuntimeError):
            pytest.skip(f"the PostgreSQL server at {SERVER} is not on this machine")
        ours_conn = await asyncpg.connect(ours)
        other_conn = await asyncpg.connect(other)
        busy = "SELECT count(*) FROM generate_series(1, 3000000)"
        try:
            async with meter.running():
                before = meter.poll()
                await other_conn.fetchval(busy)
                middle = meter.poll()
                started = time.process_time()
                await ours_conn.fetchval(busy)
                await asyncio.sleep(0.05)
                after = meter.poll()
        finally:
            await ours_conn.close()
            await other_conn.close()
        assert time.process_time() - started < 0.1  # the work was the server's, not ours
        theirs, mine = middle - before, after - middle
        assert theirs.other >= 0.1 and theirs.counted < theirs.other / 3
        assert mine.counted >= 0.1  # (others may use the server meanwhile: no bound on other)
