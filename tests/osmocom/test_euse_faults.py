"""What goes wrong between a core and the gateway, against a real OsmoHLR: an IMSI the HLR
has no number for, a Facility the gateway cannot read, the HLR restarted mid-session, the
gateway killed mid-session. Each ends cleanly; nothing answered is lost; the link comes back.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from hlr_harness import OsmoHlr, gateway_env, imsi_of, wait_euse_up, whole
from support import OPEN_EN, OPEN_RU

from simulators.dialects import SimulatorError
from simulators.gsup import GsupCore, pssr_invoke, ussr_result
from simulators.process import gateway_process
from state.sqlite import SqliteStore
from ussd_gateway.config import Settings

pytestmark = [pytest.mark.osmocom, pytest.mark.slow]

NOT_AVAILABLE = "Услуга недоступна."
SESSION_ENDED = "Сеанс завершён. Наберите запрос снова."
FACILITY_NOT_SUPPORTED = "returnError 21"
"""What OsmoHLR 1.5 sends the MSC for an END whose component is no USSD operation (our
Reject): its handle_ss() answers every non-USSD component with facilityNotSupported."""
SYSTEM_FAILURE = "returnError 34"
"""What OsmoHLR sends the MSC for a session whose EUSE is not connected."""


async def stored_session(
    store: SqliteStore, database: Path, imsi: str, session_id: int, msisdn: str
) -> Any:
    """The engine's record of a GSUP session (its id holds the GSUP session id)."""
    pattern = f"gsup:%-{session_id:08x}-%"
    with sqlite3.connect(database) as db:
        rows = db.execute(
            "SELECT id FROM ussd_sessions WHERE id LIKE ? AND msisdn = ?", (pattern, msisdn)
        ).fetchall()
    assert len(rows) == 1, rows
    session, _ = await store.load_hop(rows[0][0], msisdn)
    return session


async def metric(url: str, name: str) -> str:
    async with aiohttp.ClientSession() as http, http.get(url + "/metrics") as r:
        text = await r.text()
    return "\n".join(line for line in text.splitlines() if line.startswith(name))


async def test_unknown_imsi_and_imsi_without_number(
    hlr: OsmoHlr, core: GsupCore, settings: Settings, store: SqliteStore, tmp_path: Path
) -> None:
    """An IMSI OsmoHLR does not know, and one it knows without an MSISDN, get the one END
    an unknown number gets over HTTP ("service unavailable"): nothing tells who exists."""
    hlr.provision("001019999999991", None)
    async with gateway_process(gateway_env(hlr, settings.database, tmp_path)) as gateway:
        await wait_euse_up(gateway.url)
        for imsi in ("001019999999990", "001019999999991"):
            phone = core.handset(imsi)
            screen = await phone.dial("*141*3*6#")
            assert screen.ends and screen.text == NOT_AVAILABLE and screen.error is None
        counted = await metric(gateway.url, "ussd_gsup_messages_total")
        assert 'kind="unknown_imsi"' in counted


async def test_malformed_facility_gets_a_clean_error(
    hlr: OsmoHlr, core: GsupCore, settings: Settings, store: SqliteStore, tmp_path: Path
) -> None:
    """A processUnstructuredSS-Request whose SEQUENCE length lies (libosmocore, and so
    OsmoHLR, reads past it; BER does not) is answered with an END and a Reject; a garbled
    answer mid-session ends that session in the store too; the link and the next sessions
    go on."""
    log = tmp_path / "gateway.log"
    async with gateway_process(gateway_env(hlr, settings.database, tmp_path), log=log) as gw:
        await wait_euse_up(gw.url)
        good = pssr_invoke(1, "*141*3*6#")
        bad = good[:9] + b"\x7f" + good[10:]  # the USSD-Arg SEQUENCE's length: 127
        phone = core.handset(imsi_of(OPEN_RU.msisdn))
        phone.new_session()
        await phone.send_raw("begin", bad)
        refused = await phone.receive()
        assert refused.ends and refused.error == FACILITY_NOT_SUPPORTED

        menu = await phone.dial("*141*3*6#")
        assert not menu.ends
        answer = ussr_result(1, "1")
        await phone.send_raw("Continue", answer[:11] + b"\x7f" + answer[12:])  # USSD-Res, 127
        cut = await phone.receive()
        assert cut.ends and cut.error == FACILITY_NOT_SUPPORTED
        stored = await stored_session(
            store, settings.database, phone.imsi, phone.session_id or 0, OPEN_RU.msisdn
        )
        assert stored is not None and stored.ended_at is not None

        again = await phone.dial("*141*3*6#")
        assert again.text.startswith("Доступ в Личный кабинет открыт.")
        await wait_euse_up(gw.url)
    text = log.read_text(encoding="utf-8")
    assert "gsup_facility_refused" in text and "Traceback" not in text


async def test_osmo_hlr_restart_cuts_the_session_and_the_connector_reconnects(
    hlr: OsmoHlr, settings: Settings, store: SqliteStore, tmp_path: Path
) -> None:
    """OsmoHLR restarted mid-session: the core loses its link, the gateway's readiness goes
    down and the cut session is ended in the store (an abort), then the connector is back
    by itself and a new session runs end to end."""
    async with gateway_process(gateway_env(hlr, settings.database, tmp_path)) as gateway:
        await wait_euse_up(gateway.url)
        async with GsupCore(hlr.address) as core:
            phone = core.handset(imsi_of(OPEN_EN.msisdn))
            assert not (await phone.dial("*141*3*6#")).ends
            hlr.stop()
            down = await wait_euse_up(gateway.url, up=False)
            assert down["failures"] >= 1
            with pytest.raises(SimulatorError):
                await phone.send("1")
        for _ in range(100):  # the connector ends the sessions it carried just after
            stored = await stored_session(
                store, settings.database, phone.imsi, phone.session_id or 0, OPEN_EN.msisdn
            )
            if stored.ended_at is not None:
                break
            await asyncio.sleep(0.05)
        assert stored.end_reason == "abort"
        hlr.start()
        await wait_euse_up(gateway.url)
        async with GsupCore(hlr.address) as core:
            phone = core.handset(imsi_of(OPEN_EN.msisdn))
            after = await phone.dial("*141*3*6#")
            assert after.text.startswith("Access to your"), after
        events = await metric(gateway.url, "ussd_gsup_link_events_total")
        assert 'event="lost"' in events and 'event="connected"' in events


async def test_gateway_killed_mid_session_loses_nothing_answered(
    hlr: OsmoHlr, core: GsupCore, settings: Settings, store: SqliteStore, tmp_path: Path
) -> None:
    """kill -9 the gateway: a close it answered stays closed; a session it held mid-way is
    ended by OsmoHLR (system failure) when the subscriber answers into the gap, and one
    whose answer reaches the restarted gateway is ended by it (its id died with the
    process); the restarted gateway serves new sessions at once."""
    env = gateway_env(hlr, settings.database, tmp_path)
    phone = core.handset(imsi_of(OPEN_RU.msisdn))
    other = core.handset(imsi_of(OPEN_EN.msisdn))
    async with gateway_process(env) as gateway:
        await wait_euse_up(gateway.url)
        await phone.dial("*141*3*6#")
        await phone.send("1")
        closed, _ = await whole(phone, await phone.send("1"))
        assert closed.ends, closed  # closed: answered, so committed
        await phone.dial("*141*3*6#")  # mid-way: the menu is on the screen
        assert not (await other.dial("*141*3*6#")).ends
        gateway.kill()
        await asyncio.sleep(0.2)  # OsmoHLR sees the EUSE's link close
        gone = await phone.send("2")
        assert gone.ends and gone.error == SYSTEM_FAILURE
    assert not (await store.get_subscriber(OPEN_RU.msisdn)).access_open
    async with gateway_process(env) as gateway:
        await wait_euse_up(gateway.url)
        ended = await other.send("1")
        assert ended.ends and ended.text == SESSION_ENDED
        assert (await store.get_subscriber(OPEN_EN.msisdn)).access_open  # never confirmed
        fresh = await phone.dial("*141*3*6#")
        assert fresh.text.startswith("Доступ в Личный кабинет закрыт.")
