"""Late resends and racing sessions: an older hop is never applied again; one subscriber's
racing hops all get a screen (issue #14)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from pgserver import fresh_database, require_postgres
from support import (
    CLOSED_SELF,
    PEPPER_HEX,
    SECRETS,
    SUBSCRIBERS,
    WRONG_PUKS,
    FakeClock,
    HandsetFactory,
    seed,
)

from simulators.dialects import HttpRequest, Op
from simulators.handset import Handset
from simulators.process import gateway_process
from state.backends import DatabaseLocation, open_store
from state.credentials import Pepper
from state.sqlite import SqliteStore
from ussd_gateway.app import create_app
from ussd_gateway.config import Settings

ASK_PUK = "Введите PUK1 вашей SIM-карты (8 цифр):"
LOCKED = "Неверный PUK1. Открытие доступа заблокировано"
ALREADY_LOCKED = "Открытие заблокировано: 5 неверных PUK1"


def _left(n: int) -> str:
    return f"Неверный PUK1. Осталось попыток: {n}.\n{ASK_PUK}"


async def _post(http: aiohttp.ClientSession, server: TestServer, req: HttpRequest) -> tuple[int, bytes]:
    async with http.post(server.make_url(req.path), data=req.body, headers=dict(req.headers)) as r:
        return r.status, await r.read()


async def _dialogue(
    http: aiohttp.ClientSession, server: TestServer, phone: Handset, wrong: str, dialect: str,
    ready: asyncio.Barrier,
) -> tuple[int, bytes]:
    """Dial, choose 2 and send a wrong PUK1 with the others (its status and body)."""
    await phone.dial("*141*3*6#")
    assert (await phone.send("2")).text == ASK_PUK
    await ready.wait()
    request = phone.codec.request(phone.state, Op.CONTINUE, wrong, secret=SECRETS[dialect])
    return await _post(http, server, request)


@pytest.mark.parametrize("dialect", ["native", "hubtel"])
async def test_a_late_resend_of_an_older_hop_is_not_applied_again(
    handset: HandsetFactory, http: aiohttp.ClientSession, gateway: TestServer, store: SqliteStore,
    dialect: str,
) -> None:
    """Hop 2 (a wrong PUK1) resent after hop 3 was answered: the current screen again, the
    failure counted once; the next wrong PUK1 says exactly how many attempts are left."""
    phone = handset(CLOSED_SELF.msisdn)
    await phone.dial("*141*3*6#")
    assert (await phone.send("2")).text == ASK_PUK
    before_hop_2 = phone.state
    assert (await phone.send(WRONG_PUKS[0])).text == _left(4)
    third = await phone.send(WRONG_PUKS[1])
    assert third.text == _left(3)
    late = phone.codec.request(before_hop_2, Op.CONTINUE, WRONG_PUKS[0], secret=SECRETS[dialect])
    status, body = await _post(http, gateway, late)
    assert status == 200
    assert "Осталось попыток: 3." in body.decode()  # the current screen, hop 3's reply
    assert (await store.get_subscriber(CLOSED_SELF.msisdn)).puk_failures == 2
    # Twice late, and the repeat of the last hop: still nothing applied.
    assert await _post(http, gateway, late) == (status, body)
    assert (await store.get_subscriber(CLOSED_SELF.msisdn)).puk_failures == 2
    # The session goes on where it really was.
    assert (await phone.send(WRONG_PUKS[2])).text == _left(2)
    assert (await store.get_subscriber(CLOSED_SELF.msisdn)).puk_failures == 3
    async with http.get(gateway.make_url("/metrics")) as r:
        metrics = await r.text()
    assert f'ussd_hops_total{{dialect="{dialect}",outcome="stale",service="access"}} 2.0' in metrics
    # Once the session is over, a late hop gets the session's end, still changing nothing.
    await phone.abort()
    status, body = await _post(http, gateway, late)
    assert status == 200 and "Сеанс завершён. Наберите запрос снова." in body.decode()
    assert (await store.get_subscriber(CLOSED_SELF.msisdn)).puk_failures == 3


@pytest.mark.parametrize("dialect", ["native", "hubtel"])
async def test_a_late_resend_is_refused_after_the_network_skipped_numbers(
    handset: HandsetFactory, http: aiohttp.ClientSession, gateway: TestServer, store: SqliteStore,
    dialect: str,
) -> None:
    """The network numbers a hop ahead of the session's count (a request it sent was never
    answered): the counter follows it, so a late resend of that hop is still an older one."""
    phone = handset(CLOSED_SELF.msisdn)
    await phone.dial("*141*3*6#")
    await phone.send("2")
    secret = SECRETS[dialect]

    async def hop(number: int, text: str) -> tuple[int, bytes]:
        state = replace(phone.state, hop=number)
        return await _post(http, gateway, phone.codec.request(state, Op.CONTINUE, text, secret=secret))

    first = await hop(5, WRONG_PUKS[0])  # numbers 2..4 never arrived
    assert first[0] == 200 and "Осталось попыток: 4." in first[1].decode()
    second = await hop(6, WRONG_PUKS[1])
    assert "Осталось попыток: 3." in second[1].decode()
    assert await hop(5, WRONG_PUKS[0]) == second  # late: the current screen, not applied
    assert await hop(3, WRONG_PUKS[2]) == second  # older than any answered: the same
    assert (await store.get_subscriber(CLOSED_SELF.msisdn)).puk_failures == 2
    assert "Осталось попыток: 2." in (await hop(7, WRONG_PUKS[2]))[1].decode()
    assert (await store.get_subscriber(CLOSED_SELF.msisdn)).puk_failures == 3


@pytest.mark.parametrize("dialect", ["native", "hubtel"])
async def test_a_hop_number_no_network_sends_is_refused(
    handset: HandsetFactory, http: aiohttp.ClientSession, gateway: TestServer, store: SqliteStore,
    dialect: str,
) -> None:
    """A hop number above a million (a session lasts minutes) is a bad request: it would
    otherwise make every later hop of the session look older."""
    phone = handset(CLOSED_SELF.msisdn)
    await phone.dial("*141*3*6#")
    await phone.send("2")
    state = replace(phone.state, hop=2_000_000)
    request = phone.codec.request(state, Op.CONTINUE, WRONG_PUKS[0], secret=SECRETS[dialect])
    assert (await _post(http, gateway, request))[0] == 400
    assert (await phone.send(WRONG_PUKS[0])).text == _left(4)


@pytest.mark.parametrize("dialect", ["africastalking"])
async def test_an_older_cumulative_text_leaves_the_session_as_it_was(
    handset: HandsetFactory, http: aiohttp.ClientSession, gateway: TestServer, store: SqliteStore,
    dialect: str,
) -> None:
    """Africa's Talking numbers no hops: an older cumulative text is refused (400) and the
    session is left as it was — the next hop continues it and counts once."""
    phone = handset(CLOSED_SELF.msisdn)
    await phone.dial("*141*3*6#")
    await phone.send("2")
    before_hop_2 = phone.state
    assert (await phone.send(WRONG_PUKS[0])).text == _left(4)
    assert (await phone.send(WRONG_PUKS[1])).text == _left(3)
    late = phone.codec.request(before_hop_2, Op.CONTINUE, WRONG_PUKS[0], secret=SECRETS[dialect])
    status, _ = await _post(http, gateway, late)
    assert status == 400
    assert (await store.get_subscriber(CLOSED_SELF.msisdn)).puk_failures == 2
    assert (await phone.send(WRONG_PUKS[2])).text == _left(2)
    assert (await store.get_subscriber(CLOSED_SELF.msisdn)).puk_failures == 3


@pytest.mark.parametrize("dialect", ["native", "hubtel", "africastalking"])
async def test_twenty_racing_sessions_of_one_subscriber_all_get_a_screen(
    gateway: TestServer, http: aiohttp.ClientSession, store: SqliteStore, dialect: str
) -> None:
    """Twenty sessions of one subscriber send a wrong PUK1 at the same moment: every one is
    answered with a screen (no busy), five failures are counted, one lock, one alert."""
    phones = [
        Handset(http, url=str(gateway.make_url("")), msisdn=CLOSED_SELF.msisdn,
                dialect=dialect, secret=SECRETS[dialect])
        for _ in range(20)
    ]
    ready = asyncio.Barrier(len(phones))
    answers = await asyncio.gather(
        *(_dialogue(http, gateway, phone, WRONG_PUKS[n % 5], dialect, ready)
          for n, phone in enumerate(phones))
    )
    assert [status for status, _ in answers] == [200] * 20, answers
    texts = [body.decode() for _, body in answers]
    assert not any("busy" in t for t in texts)
    left = sorted(n for n in range(1, 5) for t in texts if f"Осталось попыток: {n}." in t)
    assert left == [1, 2, 3, 4]  # each count said once: no failure counted twice
    assert sum(1 for t in texts if LOCKED in t) == 1  # the fifth: locked now
    assert sum(1 for t in texts if ALREADY_LOCKED in t) == 15
    sub = await store.get_subscriber(CLOSED_SELF.msisdn)
    assert sub.puk_locked and sub.puk_failures == 5
    outbox = await store.outbox(CLOSED_SELF.msisdn)
    assert [(m.kind, m.status) for m in outbox] == [("puk_locked_alert", "pending")]
    # In one process the subscriber's hops wait for each other: none had to be retried
    # (retries are for other processes; twenty racers here used to burn up to 20 each).
    async with http.get(gateway.make_url("/metrics")) as r:
        metrics = await r.text()
    conflicts = [line for line in metrics.splitlines() if line.startswith("ussd_hop_conflicts_total")]
    assert conflicts == ["ussd_hop_conflicts_total 0.0"], conflicts


@pytest.mark.postgres
@pytest.mark.parametrize("dialect", ["native", "hubtel"])
async def test_racing_sessions_over_two_gateways_on_postgresql_all_get_a_screen(
    settings: Settings, clock: FakeClock, http: aiohttp.ClientSession, dialect: str
) -> None:
    """Two gateways (no shared lock) on one PostgreSQL database, twenty sessions of one
    subscriber split over them sending a wrong PUK1 at once: the conflicts between the two
    are retried until every hop has its screen; five failures, one lock, one alert."""
    await require_postgres()
    async with fresh_database("ussd_late") as dsn:
        location = DatabaseLocation.parse(dsn)
        store = await open_store(location)
        try:
            await seed(store, Pepper.from_hex(PEPPER_HEX), SUBSCRIBERS)  # type: ignore[arg-type]
            app_settings = replace(settings, database_url=location)
            servers = [
                TestServer(create_app(app_settings, clock=clock), host="127.0.0.1")
                for _ in range(2)
            ]
            for server in servers:
                await server.start_server()
            try:
                phones = [
                    Handset(http, url=str(servers[n % 2].make_url("")), msisdn=CLOSED_SELF.msisdn,
                            dialect=dialect, secret=SECRETS[dialect])
                    for n in range(20)
                ]
                ready = asyncio.Barrier(len(phones))
                answers = await asyncio.gather(
                    *(
                        _dialogue(http, servers[n % 2], phone, WRONG_PUKS[n % 5], dialect, ready)
                        for n, phone in enumerate(phones)
                    )
                )
                assert [status for status, _ in answers] == [200] * 20, answers
                texts = [body.decode() for _, body in answers]
                left = sorted(
                    n for n in range(1, 5) for t in texts if f"Осталось попыток: {n}." in t
                )
                assert left == [1, 2, 3, 4]
                assert sum(1 for t in texts if LOCKED in t) == 1
                assert sum(1 for t in texts if ALREADY_LOCKED in t) == 15
                sub = await store.get_subscriber(CLOSED_SELF.msisdn)
                assert sub is not None and sub.puk_locked and sub.puk_failures == 5
                outbox = await store.outbox(CLOSED_SELF.msisdn)
                assert [(m.kind, m.status) for m in outbox] == [("puk_locked_alert", "pending")]
            finally:
                for server in servers:
                    await server.close()
        finally:
            await store.close()


@pytest.mark.slow
async def test_racing_hops_over_two_worker_processes_all_get_a_screen(
    settings: Settings, store: SqliteStore, tmp_path: Path
) -> None:
    """``serve --workers 2`` on one SQLite file, twenty sessions of one subscriber over
    real HTTP (a connection each: the kernel spreads them over the workers) sending a
    wrong PUK1 at once: every hop has its screen; five failures, one lock, one alert."""
    env = {
        "USSD_GATEWAY_DATABASE": str(settings.database),
        "USSD_GATEWAY_PUK_PEPPER": PEPPER_HEX,
        "USSD_GATEWAY_SECRET_NATIVE": SECRETS["native"],
        "USSD_GATEWAY_OUTBOX_FILE": str(tmp_path / "outbox.jsonl"),
        "TMPDIR": str(tmp_path),
    }
    async with gateway_process(env, serve_args=["--workers", "2"]) as gateway:
        ready = asyncio.Barrier(20)  # the wrong PUK1s leave together

        async def one(wrong: str) -> tuple[int, bytes]:
            async with aiohttp.ClientSession() as http:
                phone = Handset(http, url=gateway.url, msisdn=CLOSED_SELF.msisdn,
                                dialect="native", secret=SECRETS["native"])
                await phone.dial("*141*3*6#")
                assert (await phone.send("2")).text == ASK_PUK
                await ready.wait()
                request = phone.codec.request(
                    phone.state, Op.CONTINUE, wrong, secret=SECRETS["native"]
                )
                async with http.post(gateway.url + request.path, data=request.body,
                                     headers=dict(request.headers)) as r:
                    return r.status, await r.read()

        answers = await asyncio.gather(*(one(WRONG_PUKS[n % 5]) for n in range(20)))
    assert [status for status, _ in answers] == [200] * 20, answers
    texts = [body.decode() for _, body in answers]
    left = sorted(n for n in range(1, 5) for t in texts if f"Осталось попыток: {n}." in t)
    assert left == [1, 2, 3, 4]
    assert sum(1 for t in texts if LOCKED in t) == 1
    assert sum(1 for t in texts if ALREADY_LOCKED in t) == 15
    sub = await store.get_subscriber(CLOSED_SELF.msisdn)
    assert sub.puk_locked and sub.puk_failures == 5
    outbox = await store.outbox(CLOSED_SELF.msisdn)
    assert [(m.kind, m.status) for m in outbox] == [("puk_locked_alert", "pending")]
