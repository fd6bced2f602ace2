"""OsmoHLR's guard timer (``ncss-guard-timeout``) on a subscriber slower than it: OsmoHLR
forgets the session without a word to either side, answers the late input itself, and the
gateway goes on serving (its own record of the session idles out in the store)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from hlr_harness import OsmoHlr, gateway_env, imsi_of, provisioned_hlr, wait_euse_up
from support import OPEN_EN

from simulators.gsup import GsupCore
from simulators.process import gateway_process
from state.sqlite import SqliteStore
from ussd_gateway.config import Settings

pytestmark = [pytest.mark.osmocom, pytest.mark.slow]

GUARD = 1


@pytest.fixture(scope="module")
def hlr(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OsmoHlr]:
    """This module's OsmoHLR, with a one-second guard timer."""
    with provisioned_hlr(tmp_path_factory.mktemp("osmo-hlr"), GUARD) as server:
        yield server


async def test_guard_timeout_on_a_slow_subscriber(
    hlr: OsmoHlr, core: GsupCore, settings: Settings, store: SqliteStore, tmp_path: Path
) -> None:
    """An answer after the guard timer gets OsmoHLR's own error and never reaches the
    gateway, which changed nothing and serves the next session."""
    log = tmp_path / "gateway.log"
    async with gateway_process(gateway_env(hlr, settings.database, tmp_path), log=log) as gw:
        await wait_euse_up(gw.url)
        phone = core.handset(imsi_of(OPEN_EN.msisdn))
        assert not (await phone.dial("*141*3*6#")).ends
        await phone.send("1")  # "Close access …?": the next "1" would close it
        await asyncio.sleep(GUARD + 1.5)
        late = await phone.send("1")
        assert late.ends and late.error is not None and late.error.startswith("gsup cause")
        assert (await store.get_subscriber(OPEN_EN.msisdn)).access_open
        again = await phone.dial("*141*3*6#")
        assert again.text.startswith("Access to your self-service account is open.")
    assert "Traceback" not in log.read_text(encoding="utf-8")
