"""What the PostgreSQL backend's tests share: a seeded subscriber, a USSD session, and the
server's view of the store's connections (counted and killed through an admin connection)."""

from __future__ import annotations

from urllib.parse import urlsplit

import asyncpg
from pgserver import server_url

from state.models import UssdSession

MSISDN = "375291112233"
NOW = 1_800_000_000.0


async def admin() -> asyncpg.Connection:
    return await asyncpg.connect(server_url("postgres"))


def database_of(dsn: str) -> str:
    return urlsplit(dsn).path.lstrip("/")


async def versions(dsn: str) -> list[tuple[int, object]]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT version, applied_at FROM schema_migrations ORDER BY 1")
    finally:
        await conn.close()
    return [(r[0], r[1]) for r in rows]


async def gateway_connections(dsn: str) -> int:
    conn = await admin()
    try:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = $1 AND application_name = 'ussd-gateway'",
                database_of(dsn),
            )
        )
    finally:
        await conn.close()


async def kill_gateway_connections(dsn: str) -> int:
    """pg_terminate_backend every connection the store holds; how many there were."""
    conn = await admin()
    try:
        killed = await conn.fetch(
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity"
            " WHERE datname = $1 AND application_name = 'ussd-gateway'",
            database_of(dsn),
        )
    finally:
        await conn.close()
    return len(killed)


def session(session_id: str, hop: int = 0) -> UssdSession:
    return UssdSession(
        id=session_id,
        msisdn=MSISDN,
        service="*141#",
        state="menu",
        lang="ru",
        started_at=NOW,
        updated_at=NOW + hop,
        hop=hop,
        last_hop_length=hop,
        last_hop_tag=f"key-{hop}",
        last_reply={"text": "Меню", "ends": False},
        data={"step": hop, "nested": {"list": [1, 2.5, None]}},
    )
