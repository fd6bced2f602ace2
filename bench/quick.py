"""The gateway alone under 50 and 200 handsets: the before/after check of one optimisation.

    python -m bench.quick [--seconds 8] [--workers 1]        (make bench-quick)
    python -m bench.quick --database postgres [--instances 1] [--postgres URL]

A fresh database of 100,000 subscribers, ``ussd-gateway serve``, the access dialogue; one
table line per handset count. Quicker than ``make bench`` and without the bare server, so
run it before and after a change, back to back on the same machine.

Besides hops/s it prints CPU time per hop (``bench/cpu.py``): the gateway's (every process
and thread, and the event loops alone) and the load tool's. Unlike hops/s, those hardly
move when something else is using the machine.

``--database postgres`` seeds a scratch database on the PostgreSQL server (``--postgres``,
default ``BENCH_POSTGRES`` or the tests' server; dropped afterwards) and starts
``--instances`` gateways on it (each ``serve --workers N``, the load split between them as
in ``make bench``). It adds the server's CPU per hop (``bench/pg.py`` says which processes
count), the total with the gateways', and the store's round trips per hop (from
``/metrics``, which sums every worker of an instance; a worker's count reaches the shared
page within a second, which an 8-second run leaves within a few per cent).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from bench import pg
from bench.cpu import run_measured, split
from bench.run import PEPPER_HEX, RATIO_RANGE, SUBSCRIBERS, _config, gateway_env, gateway_pids
from bench.seed import seed
from simulators.load_stats import table
from simulators.process import gateway_process
from state.credentials import Pepper

_HEAD = (
    f"{'':<12}{'hops/s':>12}{'sessions/s':>12}{'p50 ms':>12}{'p95 ms':>12}{'p99 ms':>12}"
    f"{'errors':>12}{'cpu µs/hop':>12}{'loop µs/hop':>12}{'tool µs/hop':>12}"
)
_PG_HEAD = f"{'pg µs/hop':>12}{'total µs/hop':>13}{'other µs/hop':>13}{'trips/hop':>10}"


def _line(handsets: int, summary: dict[str, Any], cpu: dict[str, float]) -> str:
    line = table(summary)[1].replace("all", f"{handsets} hs", 1)
    line += f"{cpu['server_cpu_us']:12.0f}{cpu['loop_cpu_us']:12.0f}{cpu['tool_cpu_us']:12.0f}"
    if "db_cpu_us" in cpu:
        line += f"{cpu['db_cpu_us']:12.0f}{cpu['total_cpu_us']:13.0f}{cpu['db_other_cpu_us']:13.0f}"
    if "round_trips_per_hop" in cpu:
        line += f"{cpu['round_trips_per_hop']:10.2f}"
    return line


async def _quick(seconds: float, workers: int, work: Path) -> None:
    database = work / "gateway.sqlite3"
    await seed(database, Pepper.from_hex(PEPPER_HEX), SUBSCRIBERS)
    env = gateway_env(database, work)
    print(_HEAD, flush=True)
    async with gateway_process(env, serve_args=["--workers", str(workers)]) as gateway:
        for handsets in (50, 200):
            config = _config(gateway.url, handsets, seconds, RATIO_RANGE)
            result, cpu = await run_measured(config, gateway_pids(gateway.process.pid))
            print(_line(handsets, result.summary(), cpu), flush=True)


async def _quick_postgres(
    seconds: float, workers: int, instances: int, server: str, work: Path
) -> int:
    version = await pg.reachable(server)
    if version is None:
        print(f"bench.quick: no PostgreSQL server answers at {server}", file=sys.stderr)
        return 2
    async with pg.scratch_database(server) as url:
        seeded = await seed(url, Pepper.from_hex(PEPPER_HEX), SUBSCRIBERS)
        await pg.settle(url)
        try:
            cpu_meter: pg.ServerCpu | None = pg.ServerCpu(
                await pg.postmaster_of(url), url.rpartition("/")[2]
            )
        except (OSError, RuntimeError):
            cpu_meter = None  # the server runs elsewhere: its CPU cannot be read from here
        print(
            f"PostgreSQL {version}, {instances} instance(s) × {workers} worker(s),"
            f" seeded in {seeded:.1f} s",
            flush=True,
        )
        print(_HEAD + _PG_HEAD, flush=True)
        env = gateway_env(url, work)
        async with AsyncExitStack() as stack:
            gateways = [
                await stack.enter_async_context(
                    gateway_process(env, serve_args=["--workers", str(workers)])
                )
                for _ in range(instances)
            ]
            urls = [g.url for g in gateways]
            pids = [p for g in gateways for p in gateway_pids(g.process.pid)]
            for handsets in (50, 200):
                configs = split(_config(urls[0], handsets, seconds, RATIO_RANGE), urls)
                result, cpu = await run_measured(configs, pids, server=cpu_meter, metrics=urls)
                print(_line(handsets, result.summary(), cpu), flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Print the header and one line per handset count."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--instances", type=int, default=1, help="gateways (postgres only)")
    parser.add_argument("--postgres", default=pg.DEFAULT_SERVER, metavar="URL")
    args = parser.parse_args(argv)
    if args.instances > 1 and args.database != "postgres":
        parser.error("--instances needs --database postgres (one SQLite file: use --workers)")
    Path("var").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir="var") as tmp:
        if args.database == "postgres":
            work = Path(tmp)
            return asyncio.run(
                _quick_postgres(args.seconds, args.workers, args.instances, args.postgres, work)
            )
        asyncio.run(_quick(args.seconds, args.workers, Path(tmp)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
