"""Fixtures of the PostgreSQL backend's tests: a fresh database, and a store on it with one
subscriber (:data:`postgres_support.MSISDN`)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import pytest
from pgserver import fresh_database
from postgres_support import MSISDN

from state.models import ClientKind
from state.postgres import PostgresStore
from state.store import SubscriberRecord


@pytest.fixture
async def dsn() -> AsyncIterator[str]:
    async with fresh_database("ussd_pg") as target:
        yield target


@pytest.fixture
async def store(dsn: str) -> AsyncIterator[PostgresStore]:
    opened = await PostgresStore.open(dsn, pool_size=3)
    await opened.import_subscribers(
        [
            SubscriberRecord(
                MSISDN, hashlib.sha256(b"puk").digest(), "c1", ClientKind.INDIVIDUAL, "A"
            )
        ]
    )
    try:
        yield opened
    finally:
        await opened.close()
