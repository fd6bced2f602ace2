"""Fixtures of the multi-instance tests: one seeded database, N real gateways on it.

Each test module gets a fresh database (PostgreSQL by default, see ``multi_cluster``)
seeded with the test subscribers, an SMSC simulator, and three gateway processes started
at once on that database with the same pepper and secrets, each on its own loopback port
and with its own log file. The scenarios of a module share them and keep apart by using
distinct subscribers (``multi_cluster.block``). Fixtures and tests of these modules run in
one event loop per module (``loop_scope="module"``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from multi_cluster import Cluster, cluster, empty_database

INSTANCES = 3


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def database(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """The module's empty database: a PostgreSQL DSN, or a shared SQLite file's path."""
    async with empty_database(tmp_path_factory.mktemp("multi-db")) as target:
        yield target


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def gateways(
    database: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Cluster]:
    """Three instances on the module's database (seeded first), started concurrently."""
    work_dir: Path = tmp_path_factory.mktemp("multi-gw")
    async with cluster(database, INSTANCES, work_dir) as running:
        yield running
    leaked = running.leaked_secrets()  # after the shutdown: its lines are scanned too
    assert not leaked, f"{len(leaked)} typed secret(s) in the instances' logs ({work_dir})"


@pytest_asyncio.fixture(loop_scope="module")
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain HTTP client in the module's event loop."""
    async with aiohttp.ClientSession() as session:
        yield session
