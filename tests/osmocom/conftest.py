"""Tests against a real OsmoHLR: the ``osmocom`` marker, the HLR and the gateway processes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from hlr_harness import OsmoHlr, free_loopback, imsi_of, require_osmo_hlr
from support import SUBSCRIBERS

from simulators.gsup import GsupCore


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker here, next to the tests that use it (--strict-markers is on)."""
    config.addinivalue_line(
        "markers", "osmocom: runs a real OsmoHLR (osmo-hlr) and the gateway as its EUSE"
    )


@pytest.fixture(scope="module")
def hlr(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OsmoHlr]:
    """One OsmoHLR a module, every seeded subscriber provisioned with its test IMSI."""
    binary = require_osmo_hlr()
    server = OsmoHlr(binary, tmp_path_factory.mktemp("osmo-hlr"), free_loopback())
    server.start()
    try:
        for subscriber in SUBSCRIBERS:
            server.provision(imsi_of(subscriber.msisdn), subscriber.msisdn)
        yield server
    finally:
        server.stop()


@pytest.fixture
async def core(hlr: OsmoHlr) -> AsyncIterator[GsupCore]:
    """An MSC/VLR connected to the module's OsmoHLR."""
    async with GsupCore(hlr.address) as msc:
        yield msc
