"""USSD session life: repeats, expiry, abort, restarts, callers, malformed input, pages."""

from __future__ import annotations

import asyncio
import base64
import sqlite3
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from support import (
    CLOSED_SELF,
    OPEN_RU,
    PASSWORDS,
    SECRETS,
    WRONG_PUKS,
    FakeClock,
    HandsetFactory,
    assert_not_stored,
)

from simulators.dialects import HttpRequest, Op, codec_for, new_session
from simulators.handset import Handset
from sms.encoding import measure, ussd_limit
from state.sqlite import SqliteStore
from ussd_gateway.app import create_app
from ussd_gateway.config import Settings
from ussd_gateway.menus.loader import load_catalog

GENERIC = "Услуга недоступна."
EXPIRED = "Время сеанса истекло. Наберите запрос снова."
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "menus"


async def _post(http: aiohttp.ClientSession, server: TestServer, req: HttpRequest) -> tuple[int, bytes]:
    async with http.post(server.make_url(req.path), data=req.body, headers=dict(req.headers)) as r:
        return r.status, await r.read()


def _session_row(database: str, msisdn: str) -> tuple[str, str, str | None]:
    with sqlite3.connect(database) as db:
        row = db.execute(
            "SELECT state, data, end_reason FROM ussd_sessions WHERE msisdn = ?"
            " ORDER BY started_at DESC, rowid DESC LIMIT 1",
            (msisdn,),
        ).fetchone()
    return row


async def test_unknown_number_and_unknown_code_look_the_same(handset: HandsetFactory) -> None:
    """Neither an unknown subscriber nor an unknown code reveals anything."""
    stranger = await handset("375290000000").dial("*141*3*6#")
    wrong_code = await handset(OPEN_RU.msisdn).dial("*999#")
    assert stranger.ends and wrong_code.ends
    assert stranger.text == wrong_code.text == GENERIC


async def test_repeated_hop_is_answered_identically_and_applied_once(
    handset: HandsetFactory, http: aiohttp.ClientSession, gateway: TestServer, store: SqliteStore,
    dialect: str,
) -> None:
    """The network sending the same hop twice gets the same reply; the PUK1 failure counts once."""
    phone = handset(CLOSED_SELF.msisdn)
    await phone.dial("*141*3*6#")
    await phone.send("2")
    request = phone.codec.request(phone.state, Op.CONTINUE, WRONG_PUKS[0], secret=SECRETS[dialect])
    first = await _post(http, gateway, request)
    second = await _post(http, gateway, request)
    assert first == second and first[0] == 200
    assert "Осталось попыток: 4" in first[1].decode()
    assert (await store.get_subscriber(CLOSED_SELF.msisdn)).puk_failures == 1


async def test_concurrent_duplicates_are_serialised(
    handset: HandsetFactory, http: aiohttp.ClientSession, gateway: TestServer, store: SqliteStore,
    dialect: str,
) -> None:
    """Ten copies of one hop arriving together: one effect, ten identical replies."""
    phone = handset(CLOSED_SELF.msisdn)
    await phone.dial("*141*3*6#")
    await phone.send("2")
    request = phone.codec.request(phone.state, Op.CONTINUE, WRONG_PUKS[1], secret=SECRETS[dialect])
    answers = await asyncio.gather(*(_post(http, gateway, request) for _ in range(10)))
    assert len(set(answers)) == 1
    assert (await store.get_subscriber(CLOSED_SELF.msisdn)).puk_failures == 1


async def test_idle_session_expires(handset: HandsetFactory, clock: FakeClock, store: SqliteStore) -> None:
    """After 60 s without a hop, the next hop ends the session and changes nothing."""
    phone = handset(OPEN_RU.msisdn)
    await phone.dial("*141*3*6#")
    await phone.send("1")
    clock.advance(61)
    late = await phone.send("1")
    assert late.ends and late.text == EXPIRED
    assert (await store.get_subscriber(OPEN_RU.msisdn)).access_open


async def test_session_expires_after_total_time_even_when_active(
    handset: HandsetFactory, clock: FakeClock
) -> None:
    """Hops every 50 s still end at 180 s in total."""
    phone = handset(OPEN_RU.msisdn)
    await phone.dial("*141*3*6#")
    for _ in range(3):
        clock.advance(50)
        assert not (await phone.send("7")).ends
    clock.advance(31)
    assert (await phone.send("7")).text == EXPIRED


async def test_abort_annuls_what_the_session_started(
    handset: HandsetFactory, store: SqliteStore, dialect: str
) -> None:
    """An abort mid-dialogue drops the pending password; nothing is set; the session is over."""
    phone = handset(OPEN_RU.msisdn)
    await phone.dial("*141*0#")
    await phone.send(PASSWORDS[1])
    state, data, _ = _session_row(store.path, OPEN_RU.msisdn)
    assert state == "confirm_password" and "$argon2id$" in data
    await phone.abort()
    state, data, reason = _session_row(store.path, OPEN_RU.msisdn)
    # Africa's Talking's end-of-session notification says "Incomplete": a timeout.
    assert (data, reason) == ("{}", "timeout" if dialect == "africastalking" else "abort")
    assert (await store.get_subscriber(OPEN_RU.msisdn)).password_hash is None
    assert_not_stored(store.path, PASSWORDS[1])


async def test_network_timeout_ends_the_session(
    http: aiohttp.ClientSession, gateway: TestServer, store: SqliteStore
) -> None:
    """A Hubtel Timeout (and a native timeout) ends the session like an abort."""
    base = {"Mobile": OPEN_RU.msisdn, "SessionId": "t-1", "ServiceCode": "141", "Operator": "a1"}
    headers = {"Authorization": f"Bearer {SECRETS['hubtel']}"}
    url = gateway.make_url("/ussd/hubtel")
    begin = {**base, "Type": "Initiation", "Message": "*141*0#", "Sequence": 1}
    async with http.post(url, json=begin, headers=headers) as r:
        assert r.status == 200
    timeout = {**base, "Type": "Timeout", "Message": "", "Sequence": 2}
    async with http.post(url, json=timeout, headers=headers) as r:
        assert (await r.json())["Type"] == "Release"
    assert _session_row(store.path, OPEN_RU.msisdn)[2] == "timeout"


async def test_session_survives_a_restart_of_the_gateway(
    settings: Settings, store: SqliteStore, clock: FakeClock, http: aiohttp.ClientSession,
    dialect: str,
) -> None:
    """A hop answered by one gateway instance is continued by a new one on the same file."""
    first = TestServer(create_app(settings, clock=clock), host="127.0.0.1")
    await first.start_server()
    phone = Handset(http, url=str(first.make_url("")), msisdn=CLOSED_SELF.msisdn, dialect=dialect,
                    secret=SECRETS[dialect])
    await phone.dial("*141*3*6#")
    await phone.send("2")
    await first.close()
    second = TestServer(create_app(settings, clock=clock), host="127.0.0.1")
    await second.start_server()
    try:
        phone._url = str(second.make_url("")).rstrip("/")
        done = await phone.send(CLOSED_SELF.puk)
        assert done.text == "Доступ в Личный кабинет открыт."
    finally:
        await second.close()


async def test_another_number_cannot_continue_a_session(
    handset: HandsetFactory, http: aiohttp.ClientSession, gateway: TestServer, store: SqliteStore,
    dialect: str,
) -> None:
    """A hop naming a different MSISDN on a known session id is refused and changes nothing."""
    phone = handset(OPEN_RU.msisdn)
    await phone.dial("*141*3*6#")
    await phone.send("1")
    forged = replace(phone.state, msisdn=CLOSED_SELF.msisdn)
    forged_request = phone.codec.request(forged, Op.CONTINUE, "1", secret=SECRETS[dialect])
    status, body = await _post(http, gateway, forged_request)
    assert status == 200 and GENERIC in body.decode()
    assert (await store.get_subscriber(OPEN_RU.msisdn)).access_open
    assert (await store.get_subscriber(CLOSED_SELF.msisdn)).version == 1


@pytest.mark.parametrize("secret", [None, "wrong-secret"])
async def test_callers_without_the_secret_are_refused(
    http: aiohttp.ClientSession, gateway: TestServer, dialect: str, secret: str | None
) -> None:
    """No secret or a wrong one: 401 in the dialect's error format, no hop."""
    state = new_session(OPEN_RU.msisdn, "*141*3*6#")
    request = codec_for(dialect).request(state, Op.BEGIN, "*141*3*6#", secret=secret)
    status, body = await _post(http, gateway, request)
    assert status == 401 and b"unauthorized" in body


async def test_basic_auth_and_token_query_are_accepted(
    http: aiohttp.ClientSession, gateway: TestServer
) -> None:
    """HTTP Basic (password = secret) and ?token= work for aggregators that need them."""
    body = {"session_id": "b-1", "msisdn": OPEN_RU.msisdn, "op": "begin", "text": "*141*3*6#"}
    token = base64.b64encode(f"aggregator:{SECRETS['native']}".encode()).decode()
    headers = {"Authorization": f"Basic {token}"}
    async with http.post(gateway.make_url("/ussd"), json=body, headers=headers) as r:
        assert r.status == 200
    body["session_id"] = "b-2"
    url = gateway.make_url("/ussd").with_query(token=SECRETS["native"])
    async with http.post(url, json=body) as r:
        assert r.status == 200


async def test_demo_mode_needs_no_secret(settings: Settings, store: SqliteStore,
                                         http: aiohttp.ClientSession) -> None:
    """Demo mode (and only demo mode) accepts callers without a secret."""
    server = TestServer(create_app(replace(settings, demo=True)), host="127.0.0.1")
    await server.start_server()
    try:
        phone = Handset(http, url=str(server.make_url("")), msisdn=OPEN_RU.msisdn, dialect="native")
        assert not (await phone.dial("*141*3*6#")).ends
    finally:
        await server.close()


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"session_id": "m", "msisdn": "+7 916 123 45 67", "op": "begin", "text": "*141#"}, 400,
         "msisdn"),
        ({"session_id": "m", "msisdn": OPEN_RU.msisdn, "op": "jump", "text": "*141#"}, 400, "op"),
        ({"msisdn": OPEN_RU.msisdn, "op": "begin", "text": "*141#"}, 400, "session_id"),
        ({"session_id": "m", "msisdn": OPEN_RU.msisdn, "op": "continue", "text": "1"}, 400, "hop"),
    ],
)
async def test_malformed_requests_get_a_clear_400(
    http: aiohttp.ClientSession, gateway: TestServer, body: dict[str, str], status: int,
    fragment: str,
) -> None:
    """Malformed requests are refused with a message naming the problem."""
    headers = {"Authorization": f"Bearer {SECRETS['native']}"}
    async with http.post(gateway.make_url("/ussd"), json=body, headers=headers) as r:
        assert r.status == status
        answer = await r.json()
    assert fragment in answer["message"] and "Traceback" not in answer["message"]


async def test_huge_body_is_refused_with_413(http: aiohttp.ClientSession, gateway: TestServer) -> None:
    """A body over the limit is refused before it is parsed."""
    headers = {"Authorization": f"Bearer {SECRETS['native']}", "Content-Type": "application/json"}
    async with http.post(gateway.make_url("/ussd"), data=b"{" + b" " * 40000 + b"}",
                         headers=headers) as r:
        assert r.status == 413
        assert (await r.json())["error"] == "too_large"


async def test_healthz(http: aiohttp.ClientSession, gateway: TestServer) -> None:
    """The health check answers when the store does."""
    async with http.get(gateway.make_url("/healthz")) as r:
        assert r.status == 200 and (await r.json()) == {"status": "ok"}
        assert r.headers["X-Request-Id"]


async def test_long_menu_is_paginated_without_losing_an_option(
    settings: Settings, store: SqliteStore, http: aiohttp.ClientSession, dialect: str
) -> None:
    """Nine options over UCS-2 pages: each page fits, 98/00 navigate, any option works."""
    catalog = load_catalog(sorted((FIXTURES / "paginated").glob("*.yaml")))
    server = TestServer(create_app(settings, catalog=catalog), host="127.0.0.1")
    await server.start_server()
    try:
        phone = Handset(http, url=str(server.make_url("")), msisdn=OPEN_RU.msisdn,
                        dialect=dialect, secret=SECRETS[dialect])
        pages = [(await phone.dial("*141*9#")).text]
        while "98. Далее" in pages[-1]:
            pages.append((await phone.send("98")).text)
        assert len(pages) > 1
        for page in pages:
            m = measure(page)
            assert m.units <= ussd_limit(m.encoding)
        shown = "\n".join(pages)
        for key in range(1, 10):
            assert shown.count(f"\n{key}. ") == 1
        assert (await phone.send("00")).text == pages[-2]
        done = await phone.send("9")
        assert done.ends and done.text == "Подробности отправлены в SMS."
    finally:
        await server.close()


async def test_metrics_count_hops_by_outcome(
    handset: HandsetFactory, http: aiohttp.ClientSession, gateway: TestServer, dialect: str
) -> None:
    """/metrics exposes hop counts by dialect, service and outcome, and a latency histogram."""
    phone = handset(OPEN_RU.msisdn)
    await phone.dial("*141*3*6#")
    await phone.send("2")
    await handset("375290000000").dial("*141*3*6#")
    async with http.get(gateway.make_url("/metrics")) as r:
        text = await r.text()
    assert r.status == 200
    assert f'ussd_hops_total{{dialect="{dialect}",outcome="begun",service="access"}} 1.0' in text
    assert f'ussd_hops_total{{dialect="{dialect}",outcome="not_available",service="-"}} 1.0' in text
    assert f'ussd_hop_seconds_count{{dialect="{dialect}"}} 3.0' in text


async def test_two_gateways_on_one_file_apply_a_hop_once(
    settings: Settings, store: SqliteStore, clock: FakeClock, http: aiohttp.ClientSession,
    dialect: str,
) -> None:
    """Two instances (no shared lock) get the same hop at once: one effect, one reply."""
    servers = [TestServer(create_app(settings, clock=clock), host="127.0.0.1") for _ in range(2)]
    for server in servers:
        await server.start_server()
    try:
        phone = Handset(http, url=str(servers[0].make_url("")), msisdn=CLOSED_SELF.msisdn,
                        dialect=dialect, secret=SECRETS[dialect])
        await phone.dial("*141*3*6#")
        await phone.send("2")
        for wrong in WRONG_PUKS[:3]:
            request = phone.codec.request(phone.state, Op.CONTINUE, wrong, secret=SECRETS[dialect])
            answers = await asyncio.gather(*(_post(http, s, request) for s in servers * 3))
            assert len(set(answers)) == 1, answers
            await phone.send(wrong)  # the handset moves on (a repeat of the same hop)
        sub = await store.get_subscriber(CLOSED_SELF.msisdn)
        assert sub.puk_failures == 3
    finally:
        for server in servers:
            await server.close()
