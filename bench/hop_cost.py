"""Measure one hop's cost: a single client against a real gateway process, then where it goes.

    python -m bench.hop_cost [--cycles 300]     (or: make bench-hop)

Part 1 starts ``ussd-gateway serve`` on a fresh SQLite file (1,000 subscribers) and runs
close/reopen cycles of ``*141*3*6#`` (6 hops each: dial, 1, 1, dial, 2, PUK1) from one
client over loopback HTTP, reporting milliseconds per hop.

Part 2 runs the same dialogue in-process through the engine (no HTTP) with the store's two
calls timed separately, to split the hop into: read (session + subscriber), the menu machine
and rendering, and the durable commit.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import aiohttp

from simulators.handset import Handset
from simulators.process import gateway_process

PEPPER_HEX = "42" * 32
SECRET = "bench-secret"  # noqa: S105 - a throwaway caller secret for a local benchmark
SUBSCRIBERS = 1000
T = TypeVar("T")


def _msisdn(i: int) -> str:
    return f"37529{i:07d}"


def _puk(i: int) -> str:
    return f"{(i * 7919) % 10**8:08d}"


async def _seed(database: Path) -> None:
    # Seeding uses the core's own importer path; the benchmark itself only speaks HTTP.
    from state.credentials import Pepper
    from state.models import ClientKind
    from state.sqlite import SqliteStore
    from state.store import SubscriberRecord

    pepper = Pepper.from_hex(PEPPER_HEX)
    store = await SqliteStore.open(database)
    await store.import_subscribers(
        [
            SubscriberRecord(
                _msisdn(i), pepper.digest(_puk(i)), f"c{i}", ClientKind.INDIVIDUAL, f"c{i}"
            )
            for i in range(SUBSCRIBERS)
        ]
    )
    await store.close()


async def _cycle(phone: Handset, puk: str, timings: list[float]) -> None:
    async def timed(coro: Awaitable[Any]) -> None:
        started = time.perf_counter()
        await coro
        timings.append(time.perf_counter() - started)

    await timed(phone.dial("*141*3*6#"))
    await timed(phone.send("1"))
    await timed(phone.send("1"))
    await timed(phone.dial("*141*3*6#"))
    await timed(phone.send("2"))
    await timed(phone.send(puk))


def _report(label: str, timings: list[float]) -> None:
    ms = sorted(t * 1000 for t in timings)

    def p(q: float) -> float:
        return ms[min(len(ms) - 1, int(q * len(ms)))]

    print(
        f"{label:<34} n={len(ms):>5}  mean {statistics.fmean(ms):6.2f} ms  "
        f"p50 {p(0.50):6.2f}  p95 {p(0.95):6.2f}  p99 {p(0.99):6.2f}"
    )


async def http_part(database: Path, cycles: int) -> None:
    """A real gateway process and one client."""
    env = {
        "USSD_GATEWAY_DATABASE": str(database),
        "USSD_GATEWAY_PUK_PEPPER": PEPPER_HEX,
        "USSD_GATEWAY_SECRET_NATIVE": SECRET,
        "USSD_GATEWAY_LOG_LEVEL": "warning",
    }
    async with gateway_process(env) as gateway, aiohttp.ClientSession() as http:
        timings: list[float] = []
        for i in range(cycles):
            n = i % SUBSCRIBERS
            phone = Handset(
                http, url=gateway.url, msisdn=_msisdn(n), dialect="native", secret=SECRET
            )
            await _cycle(phone, _puk(n), timings)
        _report("HTTP hop (native, 1 client)", timings[len(timings) // 10 :])


async def engine_part(database: Path, cycles: int) -> None:
    """The same hops through the engine in-process, with the store's calls timed."""
    from state.credentials import PasswordHasher, Pepper
    from state.sqlite import SqliteStore
    from ussd_gateway.dialects.model import Op, UssdRequest
    from ussd_gateway.hop.engine import Engine
    from ussd_gateway.menus.loader import load_catalog

    store = await SqliteStore.open(database)
    spent: dict[str, list[float]] = {"load_hop": [], "commit": []}

    def timed(name: str, fn: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
        async def wrapper(*args: Any, **kwargs: Any) -> T:
            started = time.perf_counter()
            try:
                return await fn(*args, **kwargs)
            finally:
                spent[name].append(time.perf_counter() - started)

        return wrapper

    store.load_hop = timed("load_hop", store.load_hop)  # type: ignore[method-assign, assignment]
    store.commit = timed("commit", store.commit)  # type: ignore[method-assign, assignment]
    engine = Engine(
        store=store,
        catalog=load_catalog(),
        pepper=Pepper.from_hex(PEPPER_HEX),
        hasher=PasswordHasher(),
    )
    totals: list[float] = []
    for i in range(cycles):
        n = (i + cycles) % SUBSCRIBERS
        for sid, inputs in (
            (f"a{i}", ("*141*3*6#", "1", "1")),
            (f"b{i}", ("*141*3*6#", "2", _puk(n))),
        ):
            for hop, text in enumerate(inputs):
                req = UssdRequest(
                    "native", sid, _msisdn(n), Op.BEGIN if hop == 0 else Op.CONTINUE, text, str(hop)
                )
                started = time.perf_counter()
                await engine.handle(req)
                totals.append(time.perf_counter() - started)
    await store.close()
    skip = len(totals) // 10
    _report("engine.handle (no HTTP)", totals[skip:])
    _report("  store.load_hop (1 thread hop)", spent["load_hop"][skip:])
    _report("  store.commit (1 txn, fsync)", spent["commit"][skip:])
    rest = [t - a - b for t, a, b in zip(totals, spent["load_hop"], spent["commit"], strict=True)]
    _report("  machine + render + logging", rest[skip:])


def main(argv: list[str] | None = None) -> int:
    """Run both parts and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=300)
    parser.add_argument("--dir", default="var", help="where the database goes (a real disk)")
    args = parser.parse_args(argv)
    from ussd_gateway.process import logs

    # Production logging (JSON, info), to a sink: its cost counts, a terminal's would not.
    logs.configure("info", open(os.devnull, "w"))  # noqa: SIM115 - lives for the run
    Path(args.dir).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        database = Path(tmp) / "bench.sqlite3"
        asyncio.run(_seed(database))
        asyncio.run(http_part(database, args.cycles))
        asyncio.run(engine_part(database, args.cycles))
    return 0


if __name__ == "__main__":
    sys.exit(main())
