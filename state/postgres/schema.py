"""The PostgreSQL schema: numbered scripts in ``migrations/``, tracked in ``schema_migrations``.

Every instance migrates when it opens its store. The whole check-and-migrate runs in one
transaction under a transaction-level advisory lock, so instances starting together queue
on the lock: the first applies what is missing, the others then find nothing to do. DDL is
transactional in PostgreSQL, so a failing script leaves the schema as it was.
"""

from __future__ import annotations

from importlib.resources import files

from state.errors import MigrationError
from state.postgres.failures import unavailable
from state.postgres.pool import Link, transaction

LOCK_KEY = int.from_bytes(b"ussd-sch", "big")
"""The advisory lock all instances take to migrate (a constant: "ussd-sch" as a bigint)."""

_MIGRATION_TIMEOUT = 600.0
"""Seconds one script (or the wait for another instance's migration) may take."""

_VERSION_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version integer PRIMARY KEY,"
    " applied_at timestamptz NOT NULL DEFAULT now())"
)


def migrations() -> list[tuple[int, str]]:
    """The numbered scripts of this code, in order: ``[(1, "CREATE …"), …]``."""
    folder = files("state.postgres").joinpath("migrations")
    found = [
        (int(item.name[:4]), item.read_text(encoding="utf-8"))
        for item in folder.iterdir()
        if item.name.endswith(".sql") and item.name[:4].isdigit()
    ]
    return sorted(found)


def latest() -> int:
    """The schema version this code needs."""
    steps = migrations()
    return steps[-1][0] if steps else 0


async def migrate(link: Link) -> list[int]:
    """Bring the database to this code's schema; the versions applied (none if current).

    Raises :class:`MigrationError` if the database is newer than this code or a script
    fails.
    """
    steps = migrations()
    newest = steps[-1][0] if steps else 0

    async def body() -> list[int]:
        await link.execute("SELECT pg_advisory_xact_lock($1)", LOCK_KEY, seconds=_MIGRATION_TIMEOUT)
        await link.execute(_VERSION_TABLE)
        row = await link.fetchrow("SELECT coalesce(max(version), 0) FROM schema_migrations")
        current = int(row[0]) if row else 0
        if current > newest:
            raise MigrationError(f"database schema {current} is newer than this code ({newest})")
        applied = []
        for number, script in steps:
            if number <= current:
                continue
            try:
                await link.execute(script, seconds=_MIGRATION_TIMEOUT)
            except Exception as exc:
                if unavailable(exc):
                    raise  # the database went away: StoreUnavailable, not a bad script
                raise MigrationError(
                    f"migration {number:04d} failed: {type(exc).__name__}"
                ) from None
            await link.execute("INSERT INTO schema_migrations (version) VALUES ($1)", number)
            applied.append(number)
        return applied

    return await transaction(link, body)
