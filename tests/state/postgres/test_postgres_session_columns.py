"""PostgreSQL migration 0003: a session's pages and hop key move out of ``data`` and the
``"length:tag"`` text into columns of their own, and read back as the typed fields."""

from __future__ import annotations

import json

import asyncpg
import pytest

from state.postgres import PostgresStore
from state.postgres.schema import _VERSION_TABLE, migrations

pytestmark = pytest.mark.postgres

OLD_ROWS = [
    # id, data, last_hop_key
    ("native:paged", {"attempts": 1, "pages": ["раз\n98. Далее", "два\n00. Назад"], "page": 1},
     "3:abc"),
    ("native:plain", {"n": 2}, "0:def"),
    ("native:odd", {}, "tag"),  # never written so: the whole text is the tag
]


async def _database_at_2(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(_VERSION_TABLE)
        for number, script in migrations():
            if number > 2:
                break
            await conn.execute(script)
            await conn.execute("INSERT INTO schema_migrations (version) VALUES ($1)", number)
        for session_id, data, key in OLD_ROWS:
            await conn.execute(
                "INSERT INTO ussd_sessions (id, msisdn, service, state, lang, data, started_at,"
                " updated_at, hop, last_hop_key, last_reply) VALUES ($1, '375291112233', 'access',"
                " 'menu', 'ru', $2::jsonb, 1.0, 2.0, 3, $3, '{\"text\": \"x\", \"ends\": false}')",
                session_id,
                json.dumps(data, ensure_ascii=False),
                key,
            )
    finally:
        await conn.close()


async def test_existing_sessions_keep_their_pages_and_hop_keys(dsn: str) -> None:
    await _database_at_2(dsn)
    store = await PostgresStore.open(dsn, pool_size=1)
    try:
        read = {sid: (await store.load_hop(sid, "375291112233"))[0] for sid, _, _ in OLD_ROWS}
    finally:
        await store.close()
    paged, plain, odd = (read[sid] for sid, _, _ in OLD_ROWS)
    assert paged is not None and plain is not None and odd is not None
    assert paged.data == {"attempts": 1}
    assert (paged.pages, paged.page) == (("раз\n98. Далее", "два\n00. Назад"), 1)
    assert (paged.last_hop_length, paged.last_hop_tag) == (3, "abc")
    assert (plain.data, plain.pages, plain.page) == ({"n": 2}, (), 0)
    assert (plain.last_hop_length, plain.last_hop_tag) == (0, "def")
    assert (odd.last_hop_length, odd.last_hop_tag) == (0, "tag")
    conn = await asyncpg.connect(dsn)
    try:
        columns = {
            r[0]
            for r in await conn.fetch(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_name = 'ussd_sessions'"
            )
        }
        pages = await conn.fetchval("SELECT pages FROM ussd_sessions WHERE id = 'native:plain'")
    finally:
        await conn.close()
    assert "last_hop_key" not in columns and pages is None
