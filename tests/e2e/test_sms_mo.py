"""/sms/mo over real HTTP: Kannel's reply body, Jasmin's ACK and outbox, JSON; forged callers."""

from __future__ import annotations

import asyncio
import base64
import re
import uuid
from urllib.parse import quote, urlencode

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from support import (
    API_SECRET,
    MO_SECRET,
    OPEN_EN,
    OPEN_RU,
    T0,
    FakeClock,
    assert_not_stored,
    read_log,
)
from yarl import URL

from state.credentials import Pepper, Sealer
from state.errors import StoreError
from state.sqlite import SqliteStore
from ussd_gateway.app import create_app
from ussd_gateway.config import Settings
from ussd_gateway.http.appkeys import CODES

STRANGER = "375290000000"
"""One of our number ranges, but not a subscriber."""
FOREIGN = "+79161234567"
CODE = re.compile(r"\b(\d{6})\b")
JASMIN_FORM = {"Content-Type": "application/x-www-form-urlencoded"}
HELP_MARKS = ("*141*0#", "*141*3*6#")


def mo_url(gateway: TestServer, query: str) -> URL:
    """``/sms/mo?<query>`` with the query kept byte for byte as written."""
    return URL(str(gateway.make_url("/sms/mo")) + "?" + query, encoded=True)


async def kannel_get(
    http: aiohttp.ClientSession,
    gateway: TestServer,
    sender: str,
    text: str | bytes,
    *,
    token: str | None = MO_SECRET,
    extra: str = "&coding=0&charset=UTF-8",
) -> tuple[int, str, str]:
    """What Kannel's get-url fetches; returns (status, content type, body)."""
    raw = text.encode() if isinstance(text, str) else text
    query = f"from={quote(sender)}&to=141&text={quote(raw)}&smsc=FAKE&id=1{extra}"
    if token is not None:
        query = f"token={quote(token)}&{query}"
    async with http.get(mo_url(gateway, query)) as response:
        return response.status, response.headers["Content-Type"], await response.text()


async def kannel_get_full(
    http: aiohttp.ClientSession, gateway: TestServer, sender: str, text: str
) -> tuple[int, str, str, str | None]:
    """As :func:`kannel_get`, plus the reply's ``X-Kannel-Coding`` header."""
    query = f"token={MO_SECRET}&from={quote(sender)}&to=141&text={quote(text)}"
    async with http.get(mo_url(gateway, query)) as response:
        return (response.status, response.headers["Content-Type"], await response.text(),
                response.headers.get("X-Kannel-Coding"))


async def jasmin_post(
    http: aiohttp.ClientSession, gateway: TestServer, sender: str, content: str,
    message_id: str | None = None,
) -> tuple[int, str]:
    """What Jasmin's HTTP connector posts (token in the connector URL)."""
    form = urlencode({"id": message_id or str(uuid.uuid4()), "from": sender, "to": "141",
                      "origin-connector": "smppc1", "content": content, "coding": "0"})
    async with http.post(mo_url(gateway, f"token={MO_SECRET}"), data=form,
                         headers=JASMIN_FORM) as response:
        return response.status, await response.text()


async def verify(http: aiohttp.ClientSession, gateway: TestServer, msisdn: str, code: str) -> int:
    """The front end's check of a code (``POST /api/v1/codes/verify``)."""
    async with http.post(gateway.make_url("/api/v1/codes/verify"),
                         json={"msisdn": msisdn, "purpose": "login", "code": code},
                         headers={"Authorization": f"Bearer {API_SECRET}"}) as response:
        return response.status


def code_in(text: str) -> str:
    """The 6-digit code a reply carries."""
    found = CODE.search(text)
    assert found, "the reply holds no code"
    return found.group(1)


async def test_kannel_kod_replies_with_a_code_that_verifies_once(
    http: aiohttp.ClientSession, gateway: TestServer
) -> None:
    """KOD from a subscriber: 200 text/plain, the reply SMS holds a code; it works once."""
    status, content_type, body, coding = await kannel_get_full(http, gateway, "+375291112233", "KOD")
    assert status == 200
    assert content_type == "text/plain; charset=utf-8"
    assert body.startswith("Код для входа в Личный кабинет: ")
    assert coding == "2"  # Cyrillic: Kannel must send it as UCS-2
    code = code_in(body)
    assert await verify(http, gateway, OPEN_RU.msisdn, code) == 200
    assert await verify(http, gateway, OPEN_RU.msisdn, code) == 401


async def test_wrong_layout_and_cyrillic_keywords(
    http: aiohttp.ClientSession, gateway: TestServer, clock: FakeClock
) -> None:
    """КОД in UTF-8, RJL (КОД on a Latin layout) and ЛЩВ (KOD on a Russian one) all work."""
    for text in ("код", "RJL", "ЛЩВ"):
        status, _, body = await kannel_get(http, gateway, OPEN_RU.msisdn, text)
        assert status == 200
        code_in(body)
        clock.advance(601)  # past the send limits


async def test_kannel_get_utf16be_without_mo_recode(
    http: aiohttp.ClientSession, gateway: TestServer
) -> None:
    """coding=2: the text arrives as UTF-16BE octets and still reads as КОД."""
    raw = "КОД".encode("utf-16-be")
    status, _, body = await kannel_get(http, gateway, OPEN_RU.msisdn, raw,
                                       extra="&coding=2&charset=UTF-16BE")
    assert status == 200
    code_in(body)


async def test_kannel_post_utf16_and_english(
    http: aiohttp.ClientSession, gateway: TestServer
) -> None:
    """post-url: a UTF-16BE body; an English-speaking subscriber gets English."""
    headers = {
        "Content-Type": 'text/plain; charset="UTF-16BE"',
        "X-Kannel-From": "+375331112233",
        "X-Kannel-To": "141",
        "X-Kannel-Coding": "2",
        "Authorization": f"Bearer {MO_SECRET}",
    }
    async with http.post(gateway.make_url("/sms/mo"), data="код".encode("utf-16-be"),
                         headers=headers) as response:
        assert response.status == 200
        body = await response.text()
    assert body.startswith("Your self-service code: ")
    assert await verify(http, gateway, OPEN_EN.msisdn, code_in(body)) == 200


async def test_help_and_unknown_texts(http: aiohttp.ClientSession, gateway: TestServer) -> None:
    """ПОМОЩЬ, anything unknown and an empty SMS: the help, in the subscriber's language."""
    for text in ("ПОМОЩЬ", "привет", ""):
        status, _, body = await kannel_get(http, gateway, OPEN_RU.msisdn, text)
        assert status == 200
        assert all(mark in body for mark in HELP_MARKS)
        assert not CODE.search(body)
    _, _, english, coding = await kannel_get_full(http, gateway, OPEN_EN.msisdn, "help")
    assert english.isascii()
    assert coding is None  # GSM-7 text goes as it is
    assert all(mark in english for mark in HELP_MARKS)


async def test_unknown_and_foreign_senders_get_the_help(
    http: aiohttp.ClientSession, gateway: TestServer, store: SqliteStore
) -> None:
    """KOD from a number that is no subscriber, or not ours at all: the generic help."""
    for sender in (STRANGER, FOREIGN, "InfoSMS"):
        status, _, body = await kannel_get(http, gateway, sender, "KOD")
        assert status == 200
        assert all(mark in body for mark in HELP_MARKS)
        assert not CODE.search(body)
    assert await store.outbox(STRANGER) == []


async def test_second_kod_is_rate_limited(
    http: aiohttp.ClientSession, gateway: TestServer, store: SqliteStore
) -> None:
    """10 KOD in a row: one code; every later one says a code was already sent."""
    bodies = [(await kannel_get(http, gateway, OPEN_RU.msisdn, "KOD"))[2] for _ in range(10)]
    code = code_in(bodies[0])
    for body in bodies[1:]:
        assert body.startswith("Код уже отправлен. Повторите через ")
        assert re.search(r"через \d+ с\.", body)
        assert not CODE.search(body)
    assert await verify(http, gateway, OPEN_RU.msisdn, code) == 200


async def test_jasmin_acks_and_queues_a_sealed_reply(
    http: aiohttp.ClientSession,
    gateway: TestServer,
    store: SqliteStore,
    pepper: Pepper,
    settings: Settings,
) -> None:
    """Jasmin: body exactly ACK/Jasmin; the reply waits in the outbox sealed, expiring."""
    status, body = await jasmin_post(http, gateway, OPEN_RU.msisdn, "KOD")
    assert (status, body) == (200, "ACK/Jasmin")
    [row] = await store.outbox(OPEN_RU.msisdn)
    assert row.kind == "code:login"
    assert row.body.startswith(Sealer.PREFIX)
    assert row.expires_at == T0 + 300
    code = code_in(Sealer(pepper).open(row.body))
    assert code not in row.body
    assert_not_stored(str(settings.database), code)
    assert await verify(http, gateway, OPEN_RU.msisdn, code) == 200


async def test_jasmin_help_goes_out_plain(
    http: aiohttp.ClientSession, gateway: TestServer, store: SqliteStore
) -> None:
    """A reply without a code is queued as it is; a foreign sender gets no MT at all."""
    assert await jasmin_post(http, gateway, OPEN_EN.msisdn, "HELP") == (200, "ACK/Jasmin")
    [row] = await store.outbox(OPEN_EN.msisdn)
    assert (row.kind, row.expires_at) == ("mo_reply", None)
    assert all(mark in row.body for mark in HELP_MARKS)
    assert await jasmin_post(http, gateway, FOREIGN, "KOD") == (200, "ACK/Jasmin")
    assert len(await store.outbox()) == 1


async def test_json_mo(http: aiohttp.ClientSession, gateway: TestServer) -> None:
    """JSON in, {"reply": …} out."""
    async with http.post(gateway.make_url("/sms/mo"),
                         json={"from": OPEN_RU.msisdn, "to": "141", "text": "код", "id": "x1"},
                         headers={"Authorization": f"Bearer {MO_SECRET}"}) as response:
        assert response.status == 200
        reply = (await response.json())["reply"]
    assert await verify(http, gateway, OPEN_RU.msisdn, code_in(reply)) == 200


async def test_forged_callers_are_refused_and_change_nothing(
    http: aiohttp.ClientSession, gateway: TestServer, store: SqliteStore, clock: FakeClock
) -> None:
    """No token, a wrong token, wrong Bearer or Basic: 403, no code, no outbox, no audit."""
    base = f"from={OPEN_RU.msisdn}&to=141&text=KOD"
    wrong_basic = base64.b64encode(b"kannel:not-the-secret").decode()
    attempts = [
        (mo_url(gateway, base), {}),
        (mo_url(gateway, "token=wrong&" + base), {}),
        (mo_url(gateway, base), {"Authorization": "Bearer wrong"}),
        (mo_url(gateway, base), {"Authorization": f"Basic {wrong_basic}"}),
        (mo_url(gateway, base), {"Authorization": "Basic !!!"}),
    ]
    for url, headers in attempts:
        async with http.get(url, headers=headers) as response:
            assert response.status == 403
            assert "Код" not in await response.text()
    async with http.post(mo_url(gateway, "token=wrong"), data=urlencode(
            {"from": OPEN_RU.msisdn, "content": "KOD"}), headers=JASMIN_FORM) as response:
        assert response.status == 403
    snapshot = await store.load_codes(OPEN_RU.msisdn, "login", clock())
    assert snapshot.code is None
    assert snapshot.sends_last_hour_all == 0
    assert await store.outbox() == []
    assert [e.action for e in await store.audit_log(msisdn=OPEN_RU.msisdn)] == []


async def test_basic_password_is_accepted(http: aiohttp.ClientSession, gateway: TestServer) -> None:
    """The secret may come as the Basic password (any user name)."""
    basic = base64.b64encode(f"kannel:{MO_SECRET}".encode()).decode()
    url = mo_url(gateway, f"from={OPEN_RU.msisdn}&text=HELP")
    async with http.get(url, headers={"Authorization": f"Basic {basic}"}) as response:
        assert response.status == 200


async def test_malformed_answers_per_caller(
    http: aiohttp.ClientSession, gateway: TestServer
) -> None:
    """Kannel still gets a reply SMS (200, help); Jasmin and JSON get a 400."""
    async with http.get(mo_url(gateway, f"token={MO_SECRET}&text=KOD&from=")) as response:
        assert response.status == 200
        text = await response.text()
    assert all(mark in text for mark in HELP_MARKS)
    async with http.get(mo_url(gateway, f"token={MO_SECRET}&from={OPEN_RU.msisdn}")) as response:
        assert response.status == 200  # a get-url without text=: still a reply, not an error
        text = await response.text()
    assert all(mark in text for mark in HELP_MARKS)
    async with http.post(mo_url(gateway, f"token={MO_SECRET}"), data=b"garbage",
                         headers={"Content-Type": "text/plain", "X-Kannel-To": "141"}) as response:
        assert response.status == 200
        assert (await response.text()).strip()
    async with http.post(mo_url(gateway, f"token={MO_SECRET}"), data=urlencode(
            {"content": "KOD"}), headers=JASMIN_FORM) as response:
        assert response.status == 400
        assert await response.text() != "ACK/Jasmin"
    async with http.post(mo_url(gateway, f"token={MO_SECRET}"), data=b"{",
                         headers={"Content-Type": "application/json"}) as response:
        assert response.status == 400
        assert (await response.json())["error"] == "malformed_request"
    async with http.post(mo_url(gateway, f"token={MO_SECRET}"), data=b"x=1",
                         headers=JASMIN_FORM) as response:
        assert response.status == 400  # a POST that is no format at all
    async with http.head(mo_url(gateway, f"token={MO_SECRET}")) as response:
        assert response.status == 405


async def test_codes_and_texts_never_reach_the_log(
    http: aiohttp.ClientSession, gateway: TestServer
) -> None:
    """The log has one sms_mo line per MO, without the text, the reply or the code."""
    _, _, body = await kannel_get(http, gateway, OPEN_RU.msisdn, "KOD")
    code = code_in(body)
    lines = read_log()
    mo_lines = [line for line in lines if str(line.get("event", "")).startswith("sms_mo")]
    assert mo_lines[-1]["outcome"] == "reply"
    for line in lines:
        for key, value in line.items():
            if key not in ("timestamp", "request_id"):  # microseconds and hex ids are digits
                assert code not in str(value), key
                assert MO_SECRET not in str(value), key


@pytest.mark.parametrize("failure", [StoreError("disk is gone"), RuntimeError("bug")])
async def test_failures_never_reach_kannel_as_5xx(
    http: aiohttp.ClientSession,
    gateway: TestServer,
    monkeypatch: pytest.MonkeyPatch,
    failure: Exception,
) -> None:
    """Kannel gets "try later" as its reply (200); Jasmin and JSON a 503 to retry on."""

    async def broken(*args: object, **kwargs: object) -> None:
        raise failure

    monkeypatch.setattr(gateway.app[CODES], "decide", broken)
    status, _, body = await kannel_get(http, gateway, OPEN_RU.msisdn, "KOD")
    assert status == 200
    assert body == "Сервис временно недоступен. Попробуйте позже."
    assert await jasmin_post(http, gateway, OPEN_RU.msisdn, "KOD") == (503, "Service Unavailable")
    async with http.post(gateway.make_url("/sms/mo"), json={"from": OPEN_RU.msisdn, "text": "KOD"},
                         headers={"Authorization": f"Bearer {MO_SECRET}"}) as response:
        assert response.status == 503


async def test_jasmin_redelivery_is_answered_once(
    http: aiohttp.ClientSession, gateway: TestServer, store: SqliteStore
) -> None:
    """Jasmin redelivers an MO whose ACK it lost: acknowledged, not processed again (case 8)."""
    message_id = "5f0c2b3e-0d6a-4b43-9b1e-3c2e7d1a9f10"
    for _ in range(3):
        assert await jasmin_post(http, gateway, OPEN_RU.msisdn, "KOD", message_id) == (
            200, "ACK/Jasmin"
        )
    [row] = await store.outbox(OPEN_RU.msisdn)
    assert row.kind == "code:login"
    # A new MO (another id) is processed: it meets the send limit, not the dedupe.
    assert await jasmin_post(http, gateway, OPEN_RU.msisdn, "KOD") == (200, "ACK/Jasmin")
    assert [r.kind for r in await store.outbox(OPEN_RU.msisdn)] == ["code:login", "mo_reply"]


async def test_simultaneous_jasmin_duplicates_are_all_acknowledged(
    http: aiohttp.ClientSession, gateway: TestServer, store: SqliteStore
) -> None:
    """Eight deliveries of one MO id at the same moment: all ACK/Jasmin, one reply, no errors."""
    message_id = "0b5e9a52-7d1c-4c7e-9a51-1f0e2c3d4b5a"
    seen = len(read_log())
    answers = await asyncio.gather(
        *(jasmin_post(http, gateway, OPEN_RU.msisdn, "KOD", message_id) for _ in range(8))
    )
    assert answers == [(200, "ACK/Jasmin")] * 8
    [row] = await store.outbox(OPEN_RU.msisdn)
    assert row.kind == "code:login"
    new = read_log()[seen:]
    assert [line for line in new if line.get("level") in ("error", "critical")] == []
    outcomes = [line["outcome"] for line in new if line.get("event") == "sms_mo"]
    assert sorted(outcomes) == ["duplicate"] * 7 + ["reply"]


async def test_duplicates_racing_in_two_processes_are_acknowledged(
    http: aiohttp.ClientSession, gateway: TestServer, store: SqliteStore,
    settings: Settings, clock: FakeClock, pepper: Pepper,
) -> None:
    """Two workers on one database get the same MO at once, round after round: the
    receipt's uniqueness decides, the losers answer as duplicates (ACK, no error line), and
    what the losers did is not written: one reply, carrying the number's live code, one send
    spent. (A loser that committed its code request apart from the receipt replaced the
    winner's code, or left the winner replying "a code was already sent".)"""
    other = TestServer(create_app(settings, clock=clock), host="127.0.0.1")
    await other.start_server()
    seen = len(read_log())
    try:
        for round_ in range(6):
            clock.advance(601)  # past the send limits of the round before
            message_id = f"7c6d5e4f-3a2b-4c1d-8e9f-0a1b2c3d4e{round_:02d}"
            before = {row.id for row in await store.outbox(OPEN_RU.msisdn)}
            answers = await asyncio.gather(
                *(jasmin_post(http, server, OPEN_RU.msisdn, "KOD", message_id)
                  for server in (gateway, other) * 3)
            )
            assert answers == [(200, "ACK/Jasmin")] * 6
            [row] = [r for r in await store.outbox(OPEN_RU.msisdn) if r.id not in before]
            assert row.kind == "code:login", round_
            snapshot = await store.load_codes(OPEN_RU.msisdn, "login", clock())
            assert snapshot.sends_last_minute == 1, round_
            code = code_in(Sealer(pepper).open(row.body))
            assert await verify(http, gateway, OPEN_RU.msisdn, code) == 200, round_
    finally:
        await other.close()
    new = read_log()[seen:]
    assert [line for line in new if line.get("level") in ("error", "critical")] == []
