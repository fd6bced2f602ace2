"""What the sub-commands share: opening the configured store for one piece of work."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from state.store import Store
from ussd_gateway.app import open_store
from ussd_gateway.config import Settings


def when(ts: float | None) -> str:
    """A Unix time as ISO 8601 in UTC, or ``-``."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds") if ts else "-"


async def with_store(settings: Settings, work: Callable[[Store], Awaitable[int]]) -> int:
    """Run ``work`` on the configured store, closed afterwards."""
    store = await open_store(settings)
    try:
        return await work(store)
    finally:
        await store.close()
