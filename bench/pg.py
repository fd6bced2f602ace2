"""The benchmark's PostgreSQL side: a scratch database, the server's CPU, the store's round trips.

A database is created under a unique name for one benchmark and dropped afterwards
(:func:`scratch_database`). The server's CPU comes from ``/proc``: the postmaster is the parent
of the bench's own backend (``SELECT pg_backend_pid()``), and its children are named by their
process titles (``postgres: 15/main: root bench_… 127.0.0.1(40112) idle``,
``postgres: 15/main: walwriter``). :class:`ServerCpu` counts

- the postmaster itself, and its shared background processes (checkpointer, background and
  WAL writers, autovacuum launcher, …): they work for every database's commits;
- every process whose title names the bench's database: the gateways' backends, and
  autovacuum workers on it;

and, apart, ``other``: backends of other databases (another user of a shared server: tests,
psql) and whatever exited unseen, as the whole process tree's CPU (the postmaster's reaped
children included) minus what was counted. A non-zero ``other`` means someone else used the
server during the run; it is not in the figures.

Round trips are the store's own count (``state/postgres/pool.py``: ``Meter``), read from each
instance's ``/metrics`` (``ussd_store_round_trips_total``) beside its ``ussd_hops_total``,
so one scrape gives both sides of the ratio over the same window.
"""

from __future__ import annotations

import asyncio
import os
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import asyncpg

DEFAULT_SERVER = os.environ.get(
    "BENCH_POSTGRES", os.environ.get("USSD_TEST_PG", "postgresql://root@127.0.0.1:5432")
)
"""The server the PostgreSQL part runs on (``BENCH_POSTGRES``, else the tests' server)."""
_TICK_S = 1 / os.sysconf("SC_CLK_TCK")
_POLL_S = 0.25
"""How often :class:`ServerCpu` reads the server's processes: a backend that comes and goes
between two reads is missed (it then shows in ``other``)."""
_SHARED = (
    "checkpointer",
    "background writer",
    "walwriter",
    "autovacuum launcher",
    "logical replication launcher",
    "archiver",
    "stats collector",
    "walreceiver",
    "walsender",
    "startup",
)
"""Process titles of the postmaster's children that serve every database."""


def database_url(server: str, name: str) -> str:
    """``server``'s URL with its database (path) set to ``name``."""
    parts = urlsplit(server)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


async def reachable(server: str) -> str | None:
    """The server's version if it answers, else None."""
    try:
        conn = await asyncpg.connect(database_url(server, "postgres"), timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return None
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


@asynccontextmanager
async def scratch_database(server: str, prefix: str = "ussd_bench") -> AsyncIterator[str]:
    """Create an empty database with a unique name on ``server``; yield its URL; drop it."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(database_url(server, "postgres"), timeout=5)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield database_url(server, name)
    finally:
        admin = await asyncpg.connect(database_url(server, "postgres"), timeout=5)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def settle(url: str) -> None:
    """``VACUUM (ANALYZE)`` the tables the seeding filled (hint bits and the visibility map
    set, statistics gathered), so the first measured run does not pay for the import.

    The empty tables are left as a new deployment has them, never vacuumed: the planner then
    assumes at least ten pages. A vacuumed empty ``ussd_sessions`` is planned as empty, and a
    connection's cached generic plan for the hop read would scan it sequentially however
    large it grows (until the next ANALYZE, which autovacuum may never run: it can be off).
    """
    conn = await asyncpg.connect(url, timeout=5)
    try:
        await conn.execute("VACUUM (ANALYZE) subscribers, clients")
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()


async def postmaster_of(url: str) -> int:
    """The postmaster's process id: the parent of a backend of ours."""
    conn = await asyncpg.connect(url, timeout=5)
    try:
        # Read while connected: the backend exits with the connection.
        return _parent(int(await conn.fetchval("SELECT pg_backend_pid()")))
    finally:
        await conn.close()


def _parent(backend: int) -> int:
    # A server on another host has backend ids that mean nothing here (or another process).
    if not _title(backend).startswith("postgres"):
        raise RuntimeError(f"process {backend} is not a PostgreSQL backend on this machine")
    for line in Path(f"/proc/{backend}/status").read_text(encoding="ascii").splitlines():
        if line.startswith("PPid:"):
            return int(line.split()[1])
    raise RuntimeError(f"no parent for backend {backend}")


def _stat(pid: int) -> tuple[float, float]:
    """(own, reaped children's) CPU seconds of ``pid``: utime+stime, cutime+cstime."""
    fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rpartition(")")[2].split()
    own = (int(fields[11]) + int(fields[12])) * _TICK_S
    reaped = (int(fields[13]) + int(fields[14])) * _TICK_S
    return own, reaped


def _title(pid: int) -> str:
    raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    return raw.replace(b"\0", b" ").decode("utf-8", "replace").strip()


def classify(title: str, database: str) -> str:
    """``ours`` (a process of ``database``), ``shared`` (serves every database) or ``other``."""
    words = title.split()
    if database in words:
        return "ours"
    rest = title.removeprefix("postgres:").strip()
    if any(rest.startswith(name) or f": {name}" in rest for name in _SHARED):
        return "shared"
    return "other"


@dataclass(frozen=True, slots=True)
class ServerSample:
    """CPU seconds of the server so far: counted (ours + shared) and its whole tree."""

    counted: float
    tree: float

    def __sub__(self, other: ServerSample) -> ServerSample:
        return ServerSample(self.counted - other.counted, self.tree - other.tree)

    @property
    def other(self) -> float:
        """What the tree used beyond what was counted (other databases' backends)."""
        return max(0.0, self.tree - self.counted)


class ServerCpu:
    """The CPU of the PostgreSQL server's processes that work for one database (see the
    module docstring), read every :data:`_POLL_S` seconds while :meth:`running`."""

    def __init__(self, postmaster: int, database: str) -> None:
        self.postmaster = postmaster
        self.database = database
        self._seen: dict[int, float] = {}
        """Counted child → its CPU seconds when last read (kept after it exits)."""
        self._kinds: dict[int, str] = {}

    def _children(self) -> list[int]:
        path = Path(f"/proc/{self.postmaster}/task/{self.postmaster}/children")
        return [int(p) for p in path.read_text(encoding="ascii").split()]

    def poll(self) -> ServerSample:
        """Read every child now; the totals so far."""
        own, reaped = _stat(self.postmaster)
        live = 0.0
        for pid in self._children():
            with suppress(FileNotFoundError, ProcessLookupError):
                used, _ = _stat(pid)
                live += used
                kind = self._kinds.get(pid) or classify(_title(pid), self.database)
                if kind != "other":
                    # Kept once known. "other" is asked again: a backend just forked still
                    # bears the postmaster's title until it has read its startup packet.
                    self._kinds[pid] = kind
                    self._seen[pid] = used
        return ServerSample(own + sum(self._seen.values()), own + reaped + live)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[ServerCpu]:
        """Poll in the background meanwhile, so short-lived backends are counted."""

        async def loop() -> None:
            while True:
                await asyncio.sleep(_POLL_S)
                self.poll()

        self.poll()
        task = asyncio.create_task(loop())
        try:
            yield self
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task


_SAMPLE = re.compile(r"^(ussd_hops_total|ussd_store_round_trips_total)(\{[^}]*\})? (\S+)$", re.M)


def store_counts(exposition: str) -> tuple[float, float | None]:
    """(hops answered, store round trips or None) from a ``/metrics`` page."""
    hops = 0.0
    trips: float | None = None
    for name, _, value in _SAMPLE.findall(exposition):
        if name == "ussd_hops_total":
            hops += float(value)
        else:
            trips = (trips or 0.0) + float(value)
    return hops, trips


async def scrape(http: aiohttp.ClientSession, url: str) -> tuple[float, float | None]:
    """One instance's hops answered and store round trips so far."""
    async with http.get(url.rstrip("/") + "/metrics") as response:
        response.raise_for_status()
        return store_counts(await response.text())
