"""Tests against a real OsmoHLR: the ``osmocom`` marker, the HLR and the gateway processes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from hlr_harness import OsmoHlr, provisioned_hlr

from simulators.gsup import GsupCore


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker here, next to the tests that use it (--strict-markers is on)."""
    config.addinivalue_line(
        "markers", "osmocom: runs a real OsmoHLR (osmo-hlr) and the gateway as its EUSE"
    )


@pytest.fixture(scope="module")
def hlr(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OsmoHlr]:
    """One OsmoHLR a module, every seeded subscriber provisioned with its test IMSI."""
    with provisioned_hlr(tmp_path_factory.mktemp("osmo-hlr")) as server:
        yield server


@pytest.fixture
async def core(hlr: OsmoHlr) -> AsyncIterator[GsupCore]:
    """An MSC/VLR connected to the module's OsmoHLR."""
    async with GsupCore(hlr.address) as msc:
        yield msc
