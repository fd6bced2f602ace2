"""A fresh benchmark database: the benchmark subscribers, imported through the core's importer.

The records go to the store's ``import_subscribers`` (the path ``ussd-gateway subscribers
import`` takes) in batches, one transaction each: one transaction per subscriber would be
100,000 fsyncs, one for all would hold the whole import in a single journal. The database
is any the gateway can use (``state.backends.open_store``): an SQLite path or a
``postgresql://`` URL (an existing, empty database; the schema is created on opening).
"""

from __future__ import annotations

import time
from pathlib import Path

from simulators import population
from state.backends import DatabaseLocation, open_store
from state.credentials import Pepper
from state.models import ClientKind
from state.store import SubscriberRecord

BATCH = 10_000


async def seed(database: DatabaseLocation | Path | str, pepper: Pepper, count: int) -> float:
    """Fill ``database`` with ``count`` open, Russian-speaking subscribers; returns seconds."""
    started = time.perf_counter()
    where = database if isinstance(database, DatabaseLocation) else DatabaseLocation.parse(database)
    store = await open_store(where, pool_size=1)
    try:
        for first in range(0, count, BATCH):
            await store.import_subscribers(
                [
                    SubscriberRecord(
                        population.msisdn(i),
                        pepper.digest(population.puk(i)),
                        f"bench-{i}",
                        ClientKind.INDIVIDUAL,
                        f"Subscriber {i}",
                    )
                    for i in range(first, min(count, first + BATCH))
                ]
            )
    finally:
        await store.close()
    return time.perf_counter() - started
