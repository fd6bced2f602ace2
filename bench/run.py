"""make bench: the gateway against the bare server under the same simulated handsets.

    python -m bench.run [--seconds 20] [--out var/bench]      (BENCH_SECONDS for make)
    python -m bench.run --postgres-only [--postgres URL]       (or --no-postgres)

One run, one machine, one table: a fresh SQLite file with 100,000 subscribers, the real
gateway process (``ussd-gateway serve``, production logging at info) and the bare server
(``bench.bare``), each driven by ``ussd-load`` with 50 and then 200 handsets running the
three-hop ``*141*3*6#`` dialogue; then the gateway alone with the full mix (wrong PUK1s,
password sets, codes, MO), the hash test (the access dialogue's p99 without and with 20
password sets a second) and its resident memory holding 10,000 live sessions. Then the
PostgreSQL part (``--postgres URL``, default ``BENCH_POSTGRES`` or the tests' server; skipped
when none answers, or with ``--no-postgres``): a scratch database with the same 100,000
subscribers, the same dialogue on one ``ussd-gateway serve`` process (50 handsets), then on
two at once on that database (50 handsets, then 200 with 0.5 s between screens; two
``ussd-load`` runs at once, half the handsets and half the subscribers each): hops/s, p99,
CPU per hop of the gateways and of the server (``bench/pg.py``: what is counted) against the
SQLite gateway's rows of the same load, and the store's round trips per hop.
``--postgres-only`` runs the SQLite gateway rows it compares with, then that part. Figures go
to ``var/bench/bench-<timestamp>.json`` and ``var/bench/latest.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

from bench import pg
from bench.cpu import run_measured, split
from bench.report import render
from bench.seed import seed
from simulators.load import LoadConfig, Mix, hold_sessions, run_load
from simulators.process import GatewayProcess, free_port, gateway_process
from state.backends import DatabaseLocation
from state.credentials import Pepper

PEPPER_HEX = "42" * 32
SECRET = "bench-secret"  # noqa: S105 - throwaway caller secrets of a local benchmark
API_SECRET = "bench-api-secret"  # noqa: S105
MO_SECRET = "bench-mo-secret"  # noqa: S105
SUBSCRIBERS = 100_000
HANDSETS = (50, 200)
THINK = 0.5
"""Mean seconds between screens in the extra 200-handset row: a quick typist, not a robot."""
HASH_HANDSETS = 20
"""Below saturation, so the hash test's p99 is service time, not queueing behind a full CPU."""
PASSWORD_RATE = 20.0
HELD_SESSIONS = 10_000
# Disjoint subscriber ranges per part: a part never meets another part's state.
RATIO_RANGE = (0, 50_000)
FULL_RANGE = (50_000, 400)
"""8 subscribers a handset: each comes round every few seconds, so states alternate and every
dialogue of the mix (a reopen with or without a wrong PUK1 needs a closed account) occurs."""
HASH_RANGE = (70_000, 10_000)
HOLD_RANGE = (80_000, HELD_SESSIONS)
PG_ROWS = (("50", 1), ("50", 2), (f"{HANDSETS[-1]}+think", 2))
"""The PostgreSQL part: (row of the SQLite gateway it is compared with, instances). Each
instance is one ``serve`` process (``--workers 1``: its ``/metrics`` is then the whole
instance's), so two instances are as many processes as the SQLite gateway's two workers.
The think row offers both stores the same load (200 handsets, 0.5 s between screens), so
their CPU per hop is compared at nearly one rate: saturated, a store that answers fewer hops
a second also batches less (fewer hops per wake-up of each process), which costs CPU per hop
by itself."""
_ROW_LOAD = {"50": (50, 0.0), f"{HANDSETS[-1]}+think": (HANDSETS[-1], THINK)}
"""A row label's handsets and think time."""
PG_SPLIT = (
    "one ussd-load run per instance at once (one load process), each with half the handsets"
    " and half the subscribers"
)


def rss_kib(pid: int) -> int:
    """Resident memory of a process (VmRSS, KiB)."""
    for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def pss_kib(pid: int) -> int:
    """Proportional resident memory (Pss, KiB): shared pages split among their sharers, so
    a parent and its forked workers add up to what they really occupy."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text(encoding="ascii").splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    raise RuntimeError(f"no Pss for pid {pid}")


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    model = "?"
    for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem_kib = 0
    for line in Path("/proc/meminfo").read_text(encoding="ascii").splitlines():
        if line.startswith("MemTotal:"):
            mem_kib = int(line.split()[1])
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "ram_gib": round(mem_kib / 1024 / 1024, 1),
        "python": platform.python_version(),
        "loadavg_before": list(os.getloadavg()),
    }


@asynccontextmanager
async def bare_process() -> AsyncIterator[tuple[str, int]]:
    """The bare server on a free port; yields its URL and process id."""
    port = free_port()
    args = [sys.executable, "-m", "bench.bare", "--port", str(port), "--secret", SECRET]
    # Our own module with our own arguments; starting it is not on any measured path.
    process = subprocess.Popen(  # noqa: S603, ASYNC220
        args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(200):
                try:
                    async with http.get(url + "/healthz") as r:
                        if r.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.05)
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(timeout=10)


def _config(
    url: str, handsets: int, seconds: float, span: tuple[int, int], **kw: Any
) -> LoadConfig:
    return LoadConfig(
        url=url,
        handsets=handsets,
        seconds=seconds,
        warmup=min(2.0, seconds / 5),
        first=span[0],
        subscribers=span[1],
        secret=SECRET,
        api_secret=API_SECRET,
        mo_secret=MO_SECRET,
        **kw,
    )


def gateway_env(database: Path | str, work: Path) -> dict[str, str]:
    """The benchmark gateway's environment: production logging, caller secrets set."""
    return {
        "USSD_GATEWAY_DATABASE": str(database),
        "USSD_GATEWAY_PUK_PEPPER": PEPPER_HEX,
        "USSD_GATEWAY_SECRET_NATIVE": SECRET,
        "USSD_GATEWAY_API_SECRET": API_SECRET,
        "USSD_GATEWAY_SMS_MO_SECRET": MO_SECRET,
        "USSD_GATEWAY_OUTBOX_FILE": str(work / "outbox.jsonl"),
        "USSD_GATEWAY_LOG_LEVEL": "info",
    }


async def measure(
    seconds: float, work: Path, workers: int, postgres: str | None, sqlite: bool = True
) -> dict[str, Any]:
    """Every part of the benchmark; returns the JSON document."""
    doc: dict[str, Any] = {"seconds": seconds, "workers": workers}
    if sqlite:
        doc |= await measure_sqlite(seconds, work, workers)
    if postgres is not None:
        baseline = (
            {label: doc["ratio"][label]["gateway"] for label in dict(PG_ROWS)}
            if sqlite
            else await sqlite_baseline(seconds, work, workers)
        )
        try:
            doc["postgres"] = await measure_postgres(seconds, work, postgres, baseline)
        except Exception as exc:  # keep the SQLite figures: a failing server is one line
            say(f"the PostgreSQL part failed: {exc.__class__.__name__}: {exc}")
            doc["postgres"] = {
                "at": str(DatabaseLocation.parse(postgres)),
                "sqlite": baseline,
                "skipped": f"failed: {exc.__class__.__name__}: {exc}",
            }
    return doc


async def measure_sqlite(seconds: float, work: Path, workers: int) -> dict[str, Any]:
    """The SQLite gateway against the bare server, and the gateway's other parts."""
    database = work / "gateway.sqlite3"
    say(f"seeding {SUBSCRIBERS:,} subscribers ...")
    seeded = await seed(database, Pepper.from_hex(PEPPER_HEX), SUBSCRIBERS)
    env = gateway_env(database, work)
    doc: dict[str, Any] = {"seed_seconds": round(seeded, 2)}
    async with (
        bare_process() as (bare_url, bare_pid),
        gateway_process(env, serve_args=["--workers", str(workers)]) as gateway,
    ):
        ratio: dict[str, Any] = {}
        rows = [(str(n), n, 0.0) for n in HANDSETS]
        rows.append((f"{HANDSETS[-1]}+think", HANDSETS[-1], THINK))
        for label, n, think in rows:
            say(f"{label} handsets: gateway ...")
            g, g_cpu = await run_measured(
                _config(gateway.url, n, seconds, RATIO_RANGE, think=think),
                gateway_pids(gateway.process.pid),
            )
            say(f"{label} handsets: bare ...")
            b, b_cpu = await run_measured(
                _config(bare_url, n, seconds, RATIO_RANGE, think=think), [bare_pid]
            )
            ratio[label] = {"gateway": g.summary() | g_cpu, "bare": b.summary() | b_cpu}
        doc["ratio"] = ratio
        say("full mix (wrong PUK1s, password sets, codes, MO) ...")
        full = await run_load(
            _config(gateway.url, HANDSETS[0], seconds, FULL_RANGE, mix=MIXES_FULL)
        )
        doc["full_mix"] = full.summary()
        say(
            f"hash test: {HASH_HANDSETS} handsets without, then with"
            f" {PASSWORD_RATE:g} password sets/s ..."
        )
        half = max(2.0, seconds / 2)
        without = await run_load(_config(gateway.url, HASH_HANDSETS, half, HASH_RANGE))
        with_hash = await run_load(
            _config(gateway.url, HASH_HANDSETS, half, HASH_RANGE, password_rate=PASSWORD_RATE)
        )
        doc["hash"] = {"without": without.summary(), "with": with_hash.summary()}
        say(f"holding {HELD_SESSIONS:,} live sessions ...")
        pids = gateway_pids(gateway.process.pid)
        before = sum(rss_kib(p) for p in pids)
        failed = await hold_sessions(
            gateway.url, range(HOLD_RANGE[0], HOLD_RANGE[0] + HOLD_RANGE[1]), secret=SECRET
        )
        after = {p: rss_kib(p) for p in pids}
        doc["memory"] = {
            "sessions": HELD_SESSIONS,
            "failed_dials": failed,
            "processes": len(pids),
            "rss_before_kib": before,
            "rss_kib": sum(after.values()),
            "rss_per_process_kib": list(after.values()),
            "pss_kib": sum(pss_kib(p) for p in pids),
        }
    return doc


MIXES_FULL = Mix.parse("full")


async def sqlite_baseline(seconds: float, work: Path, workers: int) -> dict[str, Any]:
    """The SQLite gateway's rows the PostgreSQL part compares with, when run alone."""
    database = work / "baseline.sqlite3"
    say(f"seeding {SUBSCRIBERS:,} subscribers (SQLite) ...")
    await seed(database, Pepper.from_hex(PEPPER_HEX), SUBSCRIBERS)
    baseline: dict[str, Any] = {}
    gateway_args = ["--workers", str(workers)]
    async with gateway_process(gateway_env(database, work), serve_args=gateway_args) as gateway:
        for label in dict(PG_ROWS):
            n, think = _ROW_LOAD[label]
            say(f"{label} handsets: SQLite gateway ...")
            result, cpu = await run_measured(
                _config(gateway.url, n, seconds, RATIO_RANGE, think=think),
                gateway_pids(gateway.process.pid),
            )
            baseline[label] = result.summary() | cpu
    return baseline


async def measure_postgres(
    seconds: float, work: Path, server: str, baseline: dict[str, Any]
) -> dict[str, Any]:
    """The PostgreSQL rows (PG_ROWS) on a scratch database, beside the SQLite ``baseline``."""
    shown = str(DatabaseLocation.parse(server))
    version = await pg.reachable(server)
    part: dict[str, Any] = {"at": shown, "sqlite": baseline}
    if version is None:
        say(f"no PostgreSQL server at {shown}: its part is skipped")
        return part | {"skipped": f"no PostgreSQL server answered at {shown}"}
    part |= {"server": version, "instance_workers": 1, "split": PG_SPLIT}
    async with pg.scratch_database(server) as url:
        say(f"seeding {SUBSCRIBERS:,} subscribers (PostgreSQL) ...")
        part["seed_seconds"] = round(await seed(url, Pepper.from_hex(PEPPER_HEX), SUBSCRIBERS), 2)
        await pg.settle(url)
        part["database"] = str(DatabaseLocation.parse(url))
        cpu = await server_cpu(url)
        part["server_cpu"] = "counted" if cpu else "not measured (the server is not on this host)"
        env = gateway_env(url, work)
        rows: list[dict[str, Any]] = []
        async with gateway_process(env) as first:
            for label, count in PG_ROWS:
                if count == 1:
                    rows.append(await pg_row([first], label, seconds, cpu))
            async with gateway_process(env) as second:
                for label, count in PG_ROWS:
                    if count == 2:
                        rows.append(await pg_row([first, second], label, seconds, cpu))
        part["rows"] = rows
    return part


async def server_cpu(url: str) -> pg.ServerCpu | None:
    """The server's CPU meter for the database at ``url``, if the server runs here."""
    try:
        postmaster = await pg.postmaster_of(url)
    except (OSError, RuntimeError):
        return None
    return pg.ServerCpu(postmaster, url.rpartition("/")[2])


async def pg_row(
    instances: Sequence[GatewayProcess], label: str, seconds: float, cpu: pg.ServerCpu | None
) -> dict[str, Any]:
    """One PostgreSQL row: the load split over ``instances``, every figure measured."""
    n, think = _ROW_LOAD[label]
    say(f"{label} handsets: PostgreSQL, {len(instances)} instance(s) ...")
    urls = [g.url for g in instances]
    pids = [p for g in instances for p in gateway_pids(g.process.pid)]
    configs = split(_config(urls[0], n, seconds, RATIO_RANGE, think=think), urls)
    result, figures = await run_measured(configs, pids, server=cpu, metrics=urls)
    return {"row": label, "instances": len(instances), **result.summary(), **figures}


def gateway_pids(pid: int) -> list[int]:
    """The gateway's process and its worker processes, if it has any."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    found = (
        [int(p) for p in children.read_text(encoding="ascii").split()] if children.exists() else []
    )
    return [pid, *found]


def say(text: str) -> None:
    print(f"  {time.strftime('%H:%M:%S')} {text}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run, print the table, write the JSON files."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_seconds = float(os.environ.get("BENCH_SECONDS", "20"))
    parser.add_argument("--seconds", type=float, default=default_seconds)
    parser.add_argument("--out", type=Path, default=Path("var/bench"))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("BENCH_WORKERS", "2")))
    parser.add_argument(
        "--postgres", default=pg.DEFAULT_SERVER, metavar="URL", help="PostgreSQL server"
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL part")
    which.add_argument(
        "--postgres-only",
        action="store_true",
        help="only the PostgreSQL part (and the SQLite gateway rows it is compared with)",
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    work = args.out / f"run-{stamp}"
    work.mkdir()
    info = machine()
    try:
        postgres = None if args.no_postgres else args.postgres
        doc = asyncio.run(
            measure(args.seconds, work, args.workers, postgres, sqlite=not args.postgres_only)
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    doc = {"started": stamp, "machine": {**info, "loadavg_after": list(os.getloadavg())}, **doc}
    print("\n".join(render(doc)))
    text = json.dumps(doc, indent=2) + "\n"
    (args.out / f"bench-{stamp}.json").write_text(text, encoding="utf-8")
    (args.out / "latest.json").write_text(text, encoding="utf-8")
    print(f"\nfigures: {args.out / f'bench-{stamp}.json'} (and latest.json)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
