"""CPU time per hop: of the server's processes (all threads, and their event loops) and of
the load tool, over a run's measured seconds (warm-up excluded).

Hops per second on two shared cores depend on how much CPU the load tool itself takes;
CPU per hop does not, so it is the figure that prices a change and compares the gateway
with the bare server whatever else the machine is doing.

With a PostgreSQL store the database server's processes are measured too
(:class:`bench.pg.ServerCpu`), and each instance's ``/metrics`` is read at both ends of the
window for the store's round trips per hop. A run can be split over several instances:
one load run per instance at once, in this process, their figures merged.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, replace
from pathlib import Path

import aiohttp

from bench.pg import ServerCpu, ServerSample, scrape
from simulators.load import LoadConfig, LoadResult, run_load
from simulators.load_stats import ERROR_SAMPLES, LoadStats

_TICK_S = 1 / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class CpuSample:
    """Seconds of CPU used so far: the server's processes, their main threads, this process."""

    server: float
    loops: float
    tool: float

    def __sub__(self, other: CpuSample) -> CpuSample:
        return CpuSample(
            self.server - other.server, self.loops - other.loops, self.tool - other.tool
        )


def sample(pids: list[int]) -> CpuSample:
    """CPU used so far by ``pids`` (each process's main thread runs its event loop) and us."""
    server = loops = 0.0
    for pid in pids:
        # The process's own line also counts its threads that have ended.
        server += _used(Path(f"/proc/{pid}/stat"))
        loops += _used(Path(f"/proc/{pid}/task/{pid}/stat"))
    return CpuSample(server, loops, time.process_time())


def _used(stat: Path) -> float:
    # The command name is in parentheses and may hold spaces: split after it.
    fields = stat.read_text(encoding="ascii").rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) * _TICK_S  # utime, stime


def split(config: LoadConfig, urls: Sequence[str]) -> list[LoadConfig]:
    """One run per URL: the handsets and the subscriber range cut into as many parts (each
    part its own subscribers, so no subscriber is in two runs), a seed each."""
    parts = len(urls)
    if config.handsets < parts or config.subscribers < parts:
        raise ValueError(f"cannot split {config.handsets} handsets over {parts} instances")
    configs = []
    first = config.first
    for i, url in enumerate(urls):
        handsets = config.handsets // parts + (i < config.handsets % parts)
        subscribers = config.subscribers // parts + (i < config.subscribers % parts)
        configs.append(
            replace(
                config,
                url=url,
                handsets=handsets,
                first=first,
                subscribers=subscribers,
                seed=config.seed + i,
            )
        )
        first += subscribers
    return configs


def merge(results: Sequence[LoadResult]) -> LoadResult:
    """Several runs at once as one: latencies pooled (exact percentiles), counts added, over
    their mean measured seconds."""
    if len(results) == 1:
        return results[0]
    stats = LoadStats()
    for result in results:
        for name, kind in result.stats.kinds.items():
            into = stats.kinds[name]
            into.latencies.extend(kind.latencies)
            into.sessions += kind.sessions
            into.errors += kind.errors
        for sample in result.stats.error_samples:
            if len(stats.error_samples) < ERROR_SAMPLES and sample not in stats.error_samples:
                stats.error_samples.append(sample)
    seconds = sum(r.seconds for r in results) / len(results)
    first = results[0].config
    config = replace(
        first,
        url=" ".join(r.config.url for r in results),
        handsets=sum(r.config.handsets for r in results),
        subscribers=sum(r.config.subscribers for r in results),
    )
    return LoadResult(stats, seconds, config)


@dataclass(frozen=True, slots=True)
class _Window:
    cpu: CpuSample
    server: ServerSample | None
    counts: list[tuple[float, float | None]]


async def _read(
    pids: list[int], server: ServerCpu | None, http: aiohttp.ClientSession, urls: Sequence[str]
) -> _Window:
    counts = list(await asyncio.gather(*(scrape(http, url) for url in urls)))
    return _Window(sample(pids), server.poll() if server else None, counts)


async def run_measured(
    config: LoadConfig | Sequence[LoadConfig],
    pids: list[int],
    *,
    server: ServerCpu | None = None,
    metrics: Sequence[str] = (),
) -> tuple[LoadResult, dict[str, float]]:
    """Run the load; also return CPU µs per measured hop: server, its loops, the load tool.

    ``config`` may be several runs (one per instance, :func:`split`), run at once and merged.
    With ``server``, also the database server's CPU per hop (``db_cpu_us``, and
    ``db_other_cpu_us``: other databases' processes, not counted) and the total with the
    gateway's (``total_cpu_us``); with ``metrics`` (instance base URLs), the store's round
    trips per hop answered (``round_trips_per_hop``) from their ``/metrics``.
    """
    configs = [config] if isinstance(config, LoadConfig) else list(config)
    warmup = configs[0].warmup
    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(aiohttp.ClientSession())
        if server is not None:
            await stack.enter_async_context(server.running())

        async def after_warmup() -> _Window:
            await asyncio.sleep(warmup)
            return await _read(pids, server, http, metrics)

        start = asyncio.create_task(after_warmup())
        results = await asyncio.gather(*(run_load(c) for c in configs))
        end = await _read(pids, server, http, metrics)
        begin = await start
    result = merge(results)
    used = end.cpu - begin.cpu
    hops = max(1, result.stats.hops)
    per_hop = {
        "server_cpu_us": round(used.server / hops * 1e6, 1),
        "loop_cpu_us": round(used.loops / hops * 1e6, 1),
        "tool_cpu_us": round(used.tool / hops * 1e6, 1),
    }
    if end.server is not None and begin.server is not None:
        db = end.server - begin.server
        per_hop["db_cpu_us"] = round(db.counted / hops * 1e6, 1)
        per_hop["db_other_cpu_us"] = round(db.other / hops * 1e6, 1)
        per_hop["total_cpu_us"] = round((used.server + db.counted) / hops * 1e6, 1)
    if metrics:
        answered = sum(e[0] - b[0] for e, b in zip(end.counts, begin.counts, strict=True))
        trips = [
            e[1] - b[1]
            for e, b in zip(end.counts, begin.counts, strict=True)
            if e[1] is not None and b[1] is not None
        ]
        per_hop["hops_answered"] = answered
        if trips and answered:
            per_hop["round_trips_per_hop"] = round(sum(trips) / answered, 3)
    return result, per_hop
