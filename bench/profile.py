"""Where a loaded gateway's time goes: py-spy samples the real process under ussd-load.

    python -m bench.profile [--handsets 50] [--seconds 8] [--top 30] [--cpu]  (make bench-profile)
    python -m bench.profile --database postgres [--postgres URL] ...

Starts the gateway on a fresh database (as ``make bench`` does), runs the access dialogue
with ``--handsets`` handsets and has py-spy sample the process meanwhile (every thread,
idle time included), then prints the functions by share of samples: inclusive (the function
and what it calls) and self. py-spy comes with the ``bench`` extra. ``--database postgres``
runs the gateway on a scratch PostgreSQL database (``bench/pg.py``) instead of an SQLite file.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bench import pg
from bench.run import PEPPER_HEX, _config, gateway_env
from bench.seed import seed
from simulators.load import run_load
from simulators.load_stats import table
from simulators.process import gateway_process
from state.credentials import Pepper

_LINE = re.compile(r":\d+\)$")
_PATH = re.compile(r" \(/.*?([^/]+/[^/]+\.py)")


def tally(raw: str) -> tuple[int, Counter[str], Counter[str]]:
    """Samples, inclusive and self counts per function from py-spy's raw (collapsed) output."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [_LINE.sub(")", _PATH.sub(r" (\1", f)) for f in stack.split(";")]
        for name in set(frames):
            inclusive[name] += n
        own[frames[-1]] += n
    return total, inclusive, own


@asynccontextmanager
async def _database(work: Path, postgres: str | None) -> AsyncIterator[str]:
    """A seeded database: an SQLite file in ``work``, or a scratch PostgreSQL database."""
    if postgres is None:
        database = work / "gateway.sqlite3"
        await seed(database, Pepper.from_hex(PEPPER_HEX), 100_000)
        yield str(database)
        return
    async with pg.scratch_database(postgres) as url:
        await seed(url, Pepper.from_hex(PEPPER_HEX), 100_000)
        await pg.settle(url)
        yield url


async def _profile(
    handsets: int, seconds: float, out: Path, work: Path, idle: bool, postgres: str | None
) -> None:
    async with _database(work, postgres) as database:
        await _sample(gateway_env(database, work), handsets, seconds, out, idle)


async def _sample(
    env: dict[str, str], handsets: int, seconds: float, out: Path, idle: bool
) -> None:
    spy_exe = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or "py-spy"
    async with gateway_process(env) as gateway:
        spy = subprocess.Popen(  # noqa: S603, ASYNC220 - our own tool, not on a measured path
            [spy_exe, "record", "-p", str(gateway.process.pid), "-d", str(int(seconds)),
             "-r", "250", "-f", "raw", "-o", str(out), "--threads", *(["--idle"] * idle)],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        config = _config(gateway.url, handsets, seconds + 1, (0, 100_000))
        result = await run_load(config)
        print("\n".join(table(result.summary())))
        spy.wait()


def main(argv: list[str] | None = None) -> int:
    """Profile and print the top functions."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--handsets", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--out", type=Path, default=Path("var/bench/profile.txt"))
    parser.add_argument(
        "--cpu", action="store_true", help="on-CPU samples only (where CPU time goes, not waits)"
    )
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--postgres", default=pg.DEFAULT_SERVER, metavar="URL")
    args = parser.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    postgres = args.postgres if args.database == "postgres" else None
    with tempfile.TemporaryDirectory(dir=args.out.parent) as tmp:
        asyncio.run(
            _profile(args.handsets, args.seconds, args.out, Path(tmp), not args.cpu, postgres)
        )
    total, inclusive, own = tally(args.out.read_text(encoding="utf-8"))
    kind = "on-CPU samples" if args.cpu else "samples (idle included)"
    print(f"\n{total} {kind} over every thread (raw stacks: {args.out})\ninclusive:")
    for name, n in inclusive.most_common(args.top):
        print(f"  {100 * n / total:5.1f}%  {name[:110]}")
    print("self:")
    for name, n in own.most_common(args.top // 2):
        print(f"  {100 * n / total:5.1f}%  {name[:110]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
