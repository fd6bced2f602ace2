"""``ussd-gateway store copy``: every row of one store into an empty other, verified.

Moving a deployment from its SQLite file to a shared PostgreSQL database (or back, for a
laboratory copy) copies what the core holds — clients, subscribers, credentials (as their
digests and hashes: nothing is decoded), USSD and web sessions, codes, guards, the outbox,
the audit — table by table in one transaction on the target. Both stores are opened (and so
migrated to this code's schema) first; the two schemas must then have the same tables and
columns. The target must be empty: a copy never merges. Afterwards each table is read back
on both sides, its rows counted and digested (values normalised across the two engines'
types), and any difference is an error.

Written by hand rather than with a migration tool: the rows are few tables of plain values
whose only differences between the engines are booleans (0/1 vs boolean), JSON (text vs
jsonb) and identity sequences, which a generic tool would map no better.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from state.backends import DatabaseLocation, open_store
from state.errors import StoreError, StoreUnavailable

TABLES = (
    "clients",
    "subscribers",
    "audit",
    "outbox",
    "ussd_sessions",
    "otp_codes",
    "otp_guards",
    "code_sends",
    "mo_receipts",
    "web_sessions",
    "login_challenges",
)
"""Every table of the core, parents before children (subscribers reference clients)."""
_IDENTITY_TABLES = ("clients", "audit", "outbox", "code_sends")
"""Tables with a generated integer id: PostgreSQL's sequence must continue after the copy."""


class CopyRefused(StoreError):
    """The copy cannot start or did not verify; nothing was left half-copied."""


@dataclass(frozen=True, slots=True)
class TableCount:
    """One table's rows on both sides after the copy."""

    table: str
    source: int
    target: int


Rows = list[tuple[Any, ...]]
Plan = dict[str, tuple[list[str], Rows]]
"""Per table: its columns (in a fixed order) and its rows, as read from the source."""


class _Tables(Protocol):
    """Raw table access to one database, values in a form both engines accept."""

    async def columns(self, table: str) -> dict[str, str]: ...
    async def count(self, table: str) -> int: ...
    async def rows(self, table: str, columns: Sequence[str]) -> Rows: ...
    async def write(self, tables: Plan) -> None: ...
    async def close(self) -> None: ...


async def copy_store(source: DatabaseLocation, target: DatabaseLocation) -> list[TableCount]:
    """Copy every row of ``source`` into the empty ``target``; the verified counts.

    Raises:
        CopyRefused: the target holds rows, the schemas differ, or the copy did not verify.
        StoreError: either database failed (then the target's transaction is rolled back).
    """
    if str(source) == str(target):
        raise CopyRefused("the source and the target are the same database")
    try:
        return await _copy(source, target)
    except StoreError:
        raise
    except (sqlite3.Error, OSError, TimeoutError) as exc:
        raise _driver_error(exc) from None
    except Exception as exc:
        if type(exc).__module__.split(".")[0] != "asyncpg":
            raise
        raise _driver_error(exc) from None


def _driver_error(exc: BaseException) -> StoreError:
    """A driver's error as the core's (its class only: a driver's message may quote values)."""
    if isinstance(exc, OSError | TimeoutError):
        return StoreUnavailable(f"cannot reach a database: {exc.__class__.__name__}")
    return StoreError(f"database error: {exc.__class__.__name__}")


async def _copy(source: DatabaseLocation, target: DatabaseLocation) -> list[TableCount]:
    for location, must_exist in ((source, True), (target, False)):  # this code's schema
        # The source must be there: a mistyped SQLite path would copy an empty new file.
        store = await open_store(location, pool_size=1, must_exist=must_exist)
        await store.close()
    src, dst = await _tables(source), await _tables(target)
    try:
        plan: Plan = {}
        for table in TABLES:
            src_columns, dst_columns = await src.columns(table), await dst.columns(table)
            if set(src_columns) != set(dst_columns):
                missing = sorted(set(src_columns) ^ set(dst_columns))
                raise CopyRefused(f"{table}: the schemas differ in columns {missing}")
            if await dst.count(table):
                raise CopyRefused(f"the target is not empty ({table} has rows)")
            columns = sorted(src_columns)
            plan[table] = (columns, await src.rows(table, columns))
        await dst.write(plan)
        counts = []
        for table, (columns, _) in plan.items():
            mine, theirs = await src.rows(table, columns), await dst.rows(table, columns)
            if _digest(mine) != _digest(theirs):
                raise CopyRefused(f"{table}: the copied rows differ from the source's")
            counts.append(TableCount(table, len(mine), len(theirs)))
        return counts
    finally:
        await src.close()
        await dst.close()


def _digest(rows: Rows) -> str:
    """One digest of a table's rows in any order, with the engines' types made equal."""
    lines = sorted(json.dumps([_plain(v) for v in row], sort_keys=True) for row in rows)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def _plain(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:  # JSON text (SQLite) and jsonb (PostgreSQL) differ in spacing and key order
            return json.dumps(json.loads(value), sort_keys=True)
        except ValueError:
            return value
    return value


async def _tables(location: DatabaseLocation) -> _Tables:
    if location.is_postgres:
        return await _PostgresTables.connect(location.dsn())
    assert location.path is not None
    return await asyncio.to_thread(_SqliteTables, str(location.path))


class _SqliteTables:
    """The SQLite file through the standard library, on a worker thread."""

    def __init__(self, path: str) -> None:
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA foreign_keys = ON")

    async def columns(self, table: str) -> dict[str, str]:
        rows = await asyncio.to_thread(
            lambda: self._db.execute(f"PRAGMA table_info({table})").fetchall()
        )
        return {r[1]: str(r[2]).lower() for r in rows}

    async def count(self, table: str) -> int:
        sql = f"SELECT count(*) FROM {table}"  # noqa: S608 - a name from TABLES
        return int((await asyncio.to_thread(lambda: self._db.execute(sql).fetchone()))[0])

    async def rows(self, table: str, columns: Sequence[str]) -> Rows:
        sql = f"SELECT {', '.join(columns)} FROM {table}"  # noqa: S608 - schema names
        return await asyncio.to_thread(lambda: [tuple(r) for r in self._db.execute(sql)])

    async def write(self, tables: Plan) -> None:
        def write() -> None:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for table, (columns, rows) in tables.items():
                    marks = ", ".join("?" for _ in columns)
                    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608
                    self._db.executemany(sql, [tuple(_for_sqlite(v) for v in r) for r in rows])
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

        try:
            await asyncio.to_thread(write)
        except sqlite3.Error as exc:
            raise StoreError(f"database error: {exc.__class__.__name__}") from exc

    async def close(self) -> None:
        self._db.close()


def _for_sqlite(value: Any) -> Any:
    return int(value) if isinstance(value, bool) else value


class _PostgresTables:
    """The PostgreSQL database through one asyncpg connection."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    @classmethod
    async def connect(cls, dsn: str) -> _PostgresTables:
        import asyncpg

        try:
            return cls(await asyncpg.connect(dsn, timeout=10))
        except (OSError, asyncpg.PostgresError) as exc:
            raise StoreError(f"cannot connect: {exc.__class__.__name__}") from None

    async def columns(self, table: str) -> dict[str, str]:
        rows = await self._conn.fetch(
            "SELECT column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = $1",
            table,
        )
        return {r["column_name"]: r["data_type"] for r in rows}

    async def count(self, table: str) -> int:
        return int(await self._conn.fetchval(f"SELECT count(*) FROM {table}"))  # noqa: S608

    async def rows(self, table: str, columns: Sequence[str]) -> Rows:
        sql = f"SELECT {', '.join(columns)} FROM {table}"  # noqa: S608 - schema names
        return [tuple(r) for r in await self._conn.fetch(sql)]

    async def write(self, tables: Plan) -> None:
        async with self._conn.transaction():
            for table, (columns, rows) in tables.items():
                types = await self.columns(table)
                convert = [_to_postgres(types[c]) for c in columns]
                records = [tuple(f(v) for f, v in zip(convert, r, strict=True)) for r in rows]
                # COPY takes the given ids even for GENERATED ALWAYS identity columns.
                await self._conn.copy_records_to_table(table, records=records, columns=columns)
            for table in _IDENTITY_TABLES:
                await self._conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"  # noqa: S608
                    f" coalesce((SELECT max(id) FROM {table}), 0) + 1, false)"
                )

    async def close(self) -> None:
        await self._conn.close()


def _to_postgres(kind: str) -> Any:
    """How a value read from SQLite becomes one of PostgreSQL's column type ``kind``."""
    if kind == "boolean":
        return lambda v: None if v is None else bool(v)
    if kind == "double precision":
        return lambda v: None if v is None else float(v)
    if kind in ("jsonb", "json"):
        return lambda v: v if v is None or isinstance(v, str) else json.dumps(v)
    if kind == "bytea":
        return lambda v: None if v is None else bytes(v)
    return lambda v: v
