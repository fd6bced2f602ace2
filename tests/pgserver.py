"""The PostgreSQL server the tests use: one uniquely named database per use, dropped after.

Every machine of this project runs a server on 127.0.0.1:5432 with trust authentication
(role ``root``). ``USSD_TEST_PG`` names another server (a libpq URL without a database).
Without a server a developer's run skips the PostgreSQL tests with one clear reason; under
``CI=true`` the test fails instead, as the Kannel tests do: CI must never pass by skipping.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest

SERVER = os.environ.get("USSD_TEST_PG", "postgresql://root@127.0.0.1:5432")
_MAINTENANCE_DB = "postgres"
_counter = itertools.count()
_reachable: bool | None = None


def server_url(database: str) -> str:
    """The DSN of ``database`` on the test server."""
    return f"{SERVER.rstrip('/')}/{database}"


async def server_reachable() -> bool:
    """Whether the test server answers (asked once per process)."""
    global _reachable
    if _reachable is None:
        try:
            conn = await asyncpg.connect(server_url(_MAINTENANCE_DB), timeout=3)
        except (OSError, asyncpg.PostgresError, TimeoutError):
            _reachable = False
        else:
            await conn.close()
            _reachable = True
    return _reachable


async def require_postgres() -> None:
    """Skip the calling test without a server, or fail it under ``CI=true``."""
    if await server_reachable():
        return
    reason = (
        f"no PostgreSQL server at {SERVER} (the PostgreSQL tests need one: .ci/run starts "
        "Debian's postgresql, or set USSD_TEST_PG)"
    )
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@asynccontextmanager
async def fresh_database(prefix: str = "ussd_test") -> AsyncIterator[str]:
    """Create an empty database with a unique name, yield its DSN, drop it afterwards."""
    await require_postgres()
    name = f"{prefix}_{os.getpid()}_{next(_counter)}_{uuid.uuid4().hex[:6]}"
    admin = await asyncpg.connect(server_url(_MAINTENANCE_DB))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield server_url(name)
    finally:
        admin = await asyncpg.connect(server_url(_MAINTENANCE_DB))
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
