"""The gateway alone under 50 and 200 handsets: the before/after check of one optimisation.

    python -m bench.quick [--seconds 8] [--workers 1]        (make bench-quick)

A fresh database of 100,000 subscribers, ``ussd-gateway serve``, the access dialogue; one
table line per handset count. Quicker than ``make bench`` and without the bare server, so
run it before and after a change, back to back on the same machine.

Besides hops/s it prints CPU time per hop (``bench/cpu.py``): the gateway's (every process
and thread, and the event loops alone) and the load tool's. Unlike hops/s, those hardly
move when something else is using the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

from bench.cpu import run_measured
from bench.run import PEPPER_HEX, RATIO_RANGE, SUBSCRIBERS, _config, gateway_env, gateway_pids
from bench.seed import seed
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
            result, cpu = await run_measured(config, gateway_pids(gateway.process.pid))
            line = table(result.summary())[1].replace("all", f"{handsets} hs", 1)
            print(f"{line}{cpu['server_cpu_us']:12.0f}{cpu['loop_cpu_us']:12.0f}"
                  f"{cpu['tool_cpu_us']:12.0f}", flush=True)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Print the header and one line per handset count."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    Path("var").mkdir(exist_ok=True)
    print(f"{'':<12}{'hops/s':>12}{'sessions/s':>12}{'p50 ms':>12}{'p95 ms':>12}{'p99 ms':>12}"
          f"{'errors':>12}{'cpu µs/hop':>12}{'loop µs/hop':>12}{'tool µs/hop':>12}")  # fmt: skip
    with tempfile.TemporaryDirectory(dir="var") as tmp:
        asyncio.run(_quick(args.seconds, args.workers, Path(tmp)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
