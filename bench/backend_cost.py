"""What a back-end call adds to a hop: one client, a real gateway process, the real billing.

    python -m bench.backend_cost [--rounds 300]        (make bench-backend)

Starts ``ussd-billing serve`` and ``ussd-gateway serve`` (demo subscribers, the worked
``*100#`` menu with the billing as back-end ``billing``) and, from one client over loopback
HTTP, alternates two first hops: ``*100#`` (its first hop makes one GET to the billing) and
``*141*3*6#`` (no call), each aborted after its first screen. Per kind of hop it prints the
wall time (p50, p95) and the CPU the gateway's process spent per hop; the billing's CPU per
call is shown apart (on a real network it is someone else's). The difference between the
two gateway figures is what the call costs the gateway: building the request, the HTTP
round trip on its client pool, reading and mapping the answer, the log line and metrics.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from bench.cpu import sample
from simulators.handset import Handset
from simulators.process import gateway_process
from state.credentials import Pepper
from state.sqlite import SqliteStore
from ussd_gateway.process.demo import DEMO_BILLING_TOKEN, examples_path, seed_demo

SECRET = "bench-secret"  # noqa: S105 - a throwaway caller secret for a local benchmark
MSISDN = "375291000001"
BLOCK = 100
"""Dialogues of one kind measured together."""


async def _billing() -> tuple[asyncio.subprocess.Process, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "simulators.billing", "serve", "--port", "0",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), 15)).decode()
    return proc, line.split(" on ", 1)[1].split()[0]


async def _hop(handset: Handset, code: str) -> float:
    started = time.perf_counter()
    await handset.dial(code)
    elapsed = time.perf_counter() - started
    await handset.abort()
    return elapsed


async def measure(rounds: int, work: Path) -> dict[str, dict[str, float]]:
    store = await SqliteStore.open(work / "gateway.sqlite3")
    await seed_demo(store, Pepper.load_or_create(work / "pepper"))
    await store.close()
    billing, url = await _billing()
    menus = Path(examples_path()).parent
    config = work / "gateway.toml"
    config.write_text(
        f'[menus]\npaths = ["{menus}", "{examples_path()}"]\n\n'
        f'[backends.billing]\nurl = "{url}"\ntoken = "{DEMO_BILLING_TOKEN}"\n',
        encoding="utf-8",
    )
    env = {
        "USSD_GATEWAY_CONFIG": str(config),
        "USSD_GATEWAY_DATABASE": str(work / "gateway.sqlite3"),
        "USSD_GATEWAY_PUK_PEPPER_FILE": str(work / "pepper"),
        "USSD_GATEWAY_SECRET_NATIVE": SECRET,
        "USSD_GATEWAY_OUTBOX_FILE": str(work / "outbox.jsonl"),
        "USSD_GATEWAY_LOG_LEVEL": "warning",
    }
    results: dict[str, dict[str, float]] = {}
    try:
        async with gateway_process(env) as gateway, aiohttp.ClientSession() as http:
            handset = Handset(http, url=gateway.url, msisdn=MSISDN, secret=SECRET)
            pids = [gateway.process.pid]
            for code in ("*100#", "*141*3*6#") * 20:  # warm-up: pools, caches, the JIT-less path
                await _hop(handset, code)
            times: dict[str, list[float]] = {"*100#": [], "*141*3*6#": []}
            cpu: dict[str, float] = {"*100#": 0.0, "*141*3*6#": 0.0}
            billing_cpu = 0.0
            # Blocks of BLOCK dialogues of one kind, alternating: /proc counts CPU in 10 ms
            # ticks, so a block's total (about a second) is read to 1 %, a hop's would not be.
            for _ in range(max(1, rounds // BLOCK)):
                for code in times:
                    before, billing_before = sample(pids), sample([billing.pid])
                    for _ in range(BLOCK):
                        times[code].append(await _hop(handset, code))
                    cpu[code] += (sample(pids) - before).server
                    if code == "*100#":
                        billing_cpu += (sample([billing.pid]) - billing_before).server
            rounds = max(1, rounds // BLOCK) * BLOCK
            for code, values in times.items():
                ordered = sorted(values)
                results[code] = {
                    "p50_ms": statistics.median(ordered) * 1000,
                    "p95_ms": ordered[int(len(ordered) * 0.95)] * 1000,
                    # A hop here is the dial and its abort: two requests to the gateway.
                    "gateway_cpu_us_per_dialogue": cpu[code] / rounds * 1e6,
                }
            results["*100#"]["billing_cpu_us_per_call"] = billing_cpu / rounds * 1e6
    finally:
        billing.terminate()
        await billing.wait()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-backend-") as tmp:
        results = asyncio.run(measure(args.rounds, Path(tmp)))
    print(f"{'first hop + abort':<20}{'p50 ms':>10}{'p95 ms':>10}{'gateway cpu µs':>16}")
    for code, row in results.items():
        print(
            f"{code:<20}{row['p50_ms']:>10.2f}{row['p95_ms']:>10.2f}"
            f"{row['gateway_cpu_us_per_dialogue']:>16.0f}"
        )
    call = results["*100#"]["gateway_cpu_us_per_dialogue"]
    plain = results["*141*3*6#"]["gateway_cpu_us_per_dialogue"]
    billing_us = results["*100#"]["billing_cpu_us_per_call"]
    print(f"a back-end call adds {call - plain:.0f} µs of gateway CPU to a hop "
          f"(the billing simulator spends {billing_us:.0f} µs a call)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
