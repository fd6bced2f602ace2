"""*141*3*6# and *141*0# from a mobile core: a subscriber's session through a real OsmoHLR
(routed by prefix to the gateway, its external USSD entity) and back, in Russian (UCS-2)
and English (GSM-7)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hlr_harness import OsmoHlr, gateway_env, imsi_of, wait_euse_up
from support import CLOSED_SELF, OPEN_EN, OPEN_RU, PASSWORDS, SUBSCRIBERS

from simulators.gsup import GsupCore, GsupHandset, GsupScreen
from simulators.process import gateway_process
from state.sqlite import SqliteStore
from ussd_gateway.config import Settings

pytestmark = [pytest.mark.osmocom, pytest.mark.slow]

MORE = ("98. ",)


async def whole(phone: GsupHandset, screen: GsupScreen) -> GsupScreen:
    """A paged screen read to its last page (OsmoHLR 1.5 forwards 112 octets at most:
    56 UCS-2 characters), the pages' text joined without the navigation lines."""
    parts = []
    while True:
        lines = screen.text.split("\n")
        nav = [line for line in lines if line.startswith(("98. ", "00. "))]
        parts.append("\n".join(line for line in lines if line not in nav))
        if screen.ends or not any(line.startswith("98. ") for line in nav):
            break
        screen = await phone.send("98")
    return GsupScreen("\n".join(parts), screen.ends, error=screen.error, raw=screen.raw)


def dcs(screen: GsupScreen) -> int:
    info = screen.raw["supplementary_service_info"]
    return int(info[info.index(b"\x04\x01") + 2])


async def test_close_and_reopen_with_puk_in_russian_through_osmo_hlr(
    hlr: OsmoHlr, core: GsupCore, settings: Settings, store: SqliteStore, tmp_path: Path
) -> None:
    """Close access (two confirmations) and reopen it with PUK1, all in UCS-2."""
    async with gateway_process(gateway_env(hlr, settings.database, tmp_path)) as gateway:
        await wait_euse_up(gateway.url)
        phone = core.handset(imsi_of(OPEN_RU.msisdn))
        menu = await whole(phone, await phone.dial("*141*3*6#"))
        print(menu)
        confirm = await whole(phone, await phone.send("1"))
        print(confirm)
        done = await whole(phone, await phone.send("1"))
        print(done)
        assert done.ends and "Доступ в Личный кабинет закрыт" in done.text
        assert dcs(done) == 0x48
        assert not (await store.get_subscriber(OPEN_RU.msisdn)).access_open
        menu = await whole(phone, await phone.dial("*141*3*6#"))
        ask = await whole(phone, await phone.send("2"))
        print(ask)
        opened = await whole(phone, await phone.send(OPEN_RU.puk))
        print(opened)
        assert opened.ends and opened.text == "Доступ в Личный кабинет открыт."
        assert (await store.get_subscriber(OPEN_RU.msisdn)).access_open
