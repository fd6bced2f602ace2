"""The gateway alone under 50 and 200 handsets: the before/after check of one optimisation.

    python -m bench.quick [--seconds 8] [--workers 1]        (make bench-quick)

A fresh database of 100,000 subscribers, ``ussd-gateway serve``, the access dialogue; one
table line per handset count. Quicker than ``make bench`` and without the bare server, so
run it before and after a change, back to back on the same machine.

Besides hops/s it prints the gateway's CPU time per hop (every process and thread, and the
event loops alone), read from /proc over the measured seconds: unlike hops/s, that figure
hardly moves when something else is using the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

from bench.run import PEPPER_HEX, RATIO_RANGE, SUBSCRIBERS, _config, gateway_env, gateway_pids
from bench.seed import seed
from simulators.load import run_load
from simulators.load_stats import table
from simulators.process import gateway_process
from state.credentials import Pepper


async def _quick(seconds: float, workers: int, work: Path) -> None:
    database = work / "gateway.sqlite3"
    await seed(database, Pepper.from_hex(PEPPER_HEX), SUBSCRIBERS)
    env = gateway_env(database, work)
    async with gateway_process(env, serve_args=["--workers", str(workers)]) as gateway:
        for handsets in (50, 200):
            config = _config(gateway.url, handsets, seconds, RATIO_RANGE)
            pids = gateway_pids(gateway.process.pid)

            async def after_warmup(pids: list[int] = pids, wait: float = config.warmup) -> CpuTicks:
                await asyncio.sleep(wait)
                return cpu_ticks(pids)

            start = asyncio.create_task(after_warmup())
            result = await run_load(config)
            used = cpu_ticks(pids) - await start
            line = table(result.summary())[1].replace("all", f"{handsets} hs", 1)
            hops = max(1, result.stats.hops)
            print(f"{line}{used.all_us / hops:12.0f}{used.loops_us / hops:12.0f}", flush=True)


class CpuTicks:
    """CPU time (user + system) of some processes: in all, and of their main threads."""

    TICK_US = 1e6 / os.sysconf("SC_CLK_TCK")

    def __init__(self, all_ticks: int, loop_ticks: int) -> None:
        self.all_ticks, self.loop_ticks = all_ticks, loop_ticks

    def __sub__(self, other: CpuTicks) -> CpuTicks:
        return CpuTicks(self.all_ticks - other.all_ticks, self.loop_ticks - other.loop_ticks)

    @property
    def all_us(self) -> float:
        return self.all_ticks * self.TICK_US

    @property
    def loops_us(self) -> float:
        return self.loop_ticks * self.TICK_US


def cpu_ticks(pids: list[int]) -> CpuTicks:
    """Ticks used so far by ``pids``' threads; a process's main thread runs its event loop."""
    all_ticks = loop_ticks = 0
    for pid in pids:
        for task in Path(f"/proc/{pid}/task").iterdir():
            # The command name is in parentheses and may hold spaces: split after it.
            fields = (task / "stat").read_text(encoding="ascii").rpartition(")")[2].split()
            ticks = int(fields[11]) + int(fields[12])  # utime, stime
            all_ticks += ticks
            if task.name == str(pid):
                loop_ticks += ticks
    return CpuTicks(all_ticks, loop_ticks)


def main(argv: list[str] | None = None) -> int:
    """Print the header and one line per handset count."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    Path("var").mkdir(exist_ok=True)
    print(f"{'':<12}{'hops/s':>12}{'sessions/s':>12}{'p50 ms':>12}{'p95 ms':>12}{'p99 ms':>12}"
          f"{'errors':>12}{'cpu µs/hop':>12}{'loop µs/hop':>12}")  # fmt: skip
    with tempfile.TemporaryDirectory(dir="var") as tmp:
        asyncio.run(_quick(args.seconds, args.workers, Path(tmp)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
