"""CPU time per hop: of the server's processes (all threads, and their event loops) and of
the load tool, over a run's measured seconds (warm-up excluded).

Hops per second on two shared cores depend on how much CPU the load tool itself takes;
CPU per hop does not, so it is the figure that prices a change and compares the gateway
with the bare server whatever else the machine is doing.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass
from pathlib import Path

from simulators.load import LoadConfig, LoadResult, run_load

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


async def run_measured(config: LoadConfig, pids: list[int]) -> tuple[LoadResult, dict[str, float]]:
    """Run the load; also return CPU µs per measured hop: server, its loops, the load tool."""

    async def after_warmup() -> CpuSample:
        await asyncio.sleep(config.warmup)
        return sample(pids)

    start = asyncio.create_task(after_warmup())
    result = await run_load(config)
    used = sample(pids) - await start
    hops = max(1, result.stats.hops)
    per_hop = {
        "server_cpu_us": round(used.server / hops * 1e6, 1),
        "loop_cpu_us": round(used.loops / hops * 1e6, 1),
        "tool_cpu_us": round(used.tool / hops * 1e6, 1),
    }
    return result, per_hop
