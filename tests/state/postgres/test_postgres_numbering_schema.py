"""PostgreSQL migration 0004: a subscriber's key is any plan's (E.164 digits), not +375 alone."""

from __future__ import annotations

import asyncpg
import pytest

from state.postgres import PostgresStore

pytestmark = pytest.mark.postgres


async def test_other_plans_keys_fit_and_junk_is_still_refused(dsn: str) -> None:
    store = await PostgresStore.open(dsn, pool_size=1)
    await store.close()
    conn = await asyncpg.connect(dsn)
    try:
        client = await conn.fetchval(
            "INSERT INTO clients (ref, kind, name) VALUES ('c1', 'individual', 'A') RETURNING id"
        )
        insert = "INSERT INTO subscribers (msisdn, client_id, puk_digest) VALUES ($1, $2, $3)"
        await conn.execute(insert, "233241112233", client, b"d" * 32)
        await conn.execute(insert, "375291112233", client, b"d" * 32)
        for bad in ("0241112233", "23324111223x", "1" * 16, "123456", ""):
            with pytest.raises(asyncpg.CheckViolationError):
                await conn.execute(insert, bad, client, b"d" * 32)
    finally:
        await conn.close()
