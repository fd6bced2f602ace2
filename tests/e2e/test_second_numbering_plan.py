"""A second numbering plan end to end: a ``[numbering]`` section for +233 (Ghana-like, as a
Hubtel operator would have), through the loader, ``create_app`` and the Hubtel dialect, the
code API and the MO parser; Belarus is back as the process's plan afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from support import API_SECRET, PEPPER_HEX, SECRETS, FakeClock, SeededSubscriber, read_log, seed

from account.codes import CodePolicy
from simulators.dialects import HttpError
from simulators.handset import Handset
from sms.mo import MoMessage, MoSource
from state.credentials import Pepper
from state.msisdn import BELARUS, current_plan, using_plan
from state.sqlite import SqliteStore
from ussd_gateway.app import create_app
from ussd_gateway.config import Settings

NUMBERING = """
[numbering]
country_code = "233"
trunk_prefixes = ["0"]
national_digits = 9
operator_ranges = ["24", "54", "55", "59"]
name = "Ghanaian"
"""
KOFI = SeededSubscriber("233241112233", "31415926")
"""Seeded by key; dialled below in the national spelling, 024 111 2233."""


@pytest.fixture
def ghana_settings(tmp_path: Path) -> Settings:
    path = tmp_path / "gw.toml"
    path.write_text(NUMBERING, encoding="utf-8")
    return Settings.load(path, {
        "USSD_GATEWAY_DATABASE": str(tmp_path / "gateway.sqlite3"),
        "USSD_GATEWAY_PUK_PEPPER": PEPPER_HEX,
        "USSD_GATEWAY_SECRET_HUBTEL": SECRETS["hubtel"],
        "USSD_GATEWAY_API_SECRET": API_SECRET,
        "USSD_GATEWAY_OUTBOX_FILE": str(tmp_path / "outbox.jsonl"),
    })


@pytest.fixture
async def ghana(
    ghana_settings: Settings, pepper: Pepper
) -> AsyncIterator[tuple[TestServer, SqliteStore]]:
    """The gateway on the +233 plan; the previous plan is put back afterwards."""
    with using_plan(ghana_settings.numbering):
        store = await SqliteStore.open(ghana_settings.database)
        await seed(store, pepper, (KOFI,))
        server = TestServer(create_app(ghana_settings, clock=FakeClock()), host="127.0.0.1")
        await server.start_server()
        try:
            yield server, store
        finally:
            await server.close()
            await store.close()
    assert current_plan() is BELARUS


def test_the_plan_and_the_code_ranges_come_from_the_section(ghana_settings: Settings) -> None:
    plan = ghana_settings.numbering
    assert (plan.country_code, plan.trunk_prefixes, plan.national_digits) == ("233", ("0",), 9)
    assert ghana_settings.codes.allowed_prefixes == ("23324", "23354", "23355", "23359")
    assert CodePolicy().allowed_prefixes == BELARUS.own_prefixes  # the default stays Belarus


async def test_a_ghana_subscriber_closes_access_over_hubtel(
    ghana: tuple[TestServer, SqliteStore], http: aiohttp.ClientSession
) -> None:
    server, store = ghana
    phone = Handset(http, url=str(server.make_url("")), msisdn="024 111 2233",
                    dialect="hubtel", secret=SECRETS["hubtel"])
    assert "открыт" in (await phone.dial("*141*3*6#")).text
    assert "Закрыть доступ" in (await phone.send("1")).text
    assert (await phone.send("1")).ends
    subscriber = await store.get_subscriber(KOFI.msisdn)
    assert subscriber is not None and not subscriber.access_open
    # The number is masked in the log by the plan's shape, never written whole.
    lines = [line for line in read_log() if "23324***2233" in str(line.values())]
    assert lines and not any(KOFI.msisdn in str(line.values()) for line in read_log())


async def test_a_belarusian_number_is_foreign_on_this_plan(
    ghana: tuple[TestServer, SqliteStore], http: aiohttp.ClientSession
) -> None:
    server, _ = ghana
    phone = Handset(http, url=str(server.make_url("")), msisdn="+375291112233",
                    dialect="hubtel", secret=SECRETS["hubtel"])
    with pytest.raises(HttpError, match=r"only Ghanaian numbers \(\+233\) are accepted"):
        await phone.dial("*141*3*6#")


async def test_codes_go_to_the_plans_ranges_and_mo_senders_are_ours(
    ghana: tuple[TestServer, SqliteStore], http: aiohttp.ClientSession
) -> None:
    server, store = ghana
    auth = {"Authorization": f"Bearer {API_SECRET}"}
    body = {"msisdn": "+233 24 111 2233", "purpose": "login"}
    async with http.post(server.make_url("/api/v1/codes"), json=body, headers=auth) as reply:
        assert reply.status == 202
    assert len(await store.outbox(KOFI.msisdn)) == 1
    assert MoMessage(KOFI.msisdn, "141", "KOD", None, MoSource.JSON).sender_is_ours
    assert not MoMessage("375291112233", "141", "KOD", None, MoSource.JSON).sender_is_ours
