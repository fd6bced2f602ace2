"""The front end's code API over real HTTP: uniform answers, limits, forged callers."""

from __future__ import annotations

import statistics
import time

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from support import API_SECRET, OPEN_EN, OPEN_RU, SeededSubscriber, seed

from state.credentials import Pepper, Sealer
from state.sqlite import SqliteStore

AUTH = {"Authorization": f"Bearer {API_SECRET}"}
STRANGER = "375290000000"


async def _post(http: aiohttp.ClientSession, gateway: TestServer, path: str,
                body: object, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], object]:
    async with http.post(gateway.make_url(path), json=body, headers=AUTH if headers is None else headers) as r:
        return r.status, dict(r.headers), await r.json()


async def _sent_code(store: SqliteStore, pepper: Pepper, msisdn: str) -> str:
    row = (await store.outbox(msisdn))[-1]
    return Sealer(pepper).open(row.body).split(": ")[1][:6]


async def test_request_then_verify_once(
    http: aiohttp.ClientSession, gateway: TestServer, store: SqliteStore, pepper: Pepper
) -> None:
    """202, the code goes to the outbox sealed, verifies once, then the uniform 401."""
    status, _, body = await _post(http, gateway, "/api/v1/codes",
                                  {"msisdn": "+375 29 111-22-33", "purpose": "login"})
    assert (status, body) == (202, {"status": "accepted"})
    code = await _sent_code(store, pepper, OPEN_RU.msisdn)
    verify = {"msisdn": "80291112233", "purpose": "login", "code": code}
    assert (await _post(http, gateway, "/api/v1/codes/verify", verify))[0] == 200
    status, _, body = await _post(http, gateway, "/api/v1/codes/verify", verify)
    assert (status, body) == (401, {"error": "invalid_code", "message": "the code is not valid"})


async def test_unknown_number_gets_the_same_202(
    http: aiohttp.ClientSession, gateway: TestServer, store: SqliteStore
) -> None:
    """A number that is not a subscriber gets the same answer; nothing is sent (case 6)."""
    known = await _post(http, gateway, "/api/v1/codes", {"msisdn": OPEN_EN.msisdn, "purpose": "login"})
    unknown = await _post(http, gateway, "/api/v1/codes", {"msisdn": STRANGER, "purpose": "login"})
    assert known[0] == unknown[0] == 202 and known[2] == unknown[2]
    assert await store.outbox(STRANGER) == []
    # And the limits answer alike too.
    again_known = await _post(http, gateway, "/api/v1/codes", {"msisdn": OPEN_EN.msisdn, "purpose": "login"})
    again_unknown = await _post(http, gateway, "/api/v1/codes", {"msisdn": STRANGER, "purpose": "login"})
    assert again_known[0] == again_unknown[0] == 429 and again_known[2] == again_unknown[2]


async def test_wrong_codes_get_one_answer(http: aiohttp.ClientSession, gateway: TestServer) -> None:
    """Wrong, malformed, unknown-number and never-requested codes: the same 401."""
    answers = [
        await _post(http, gateway, "/api/v1/codes/verify", {"msisdn": m, "purpose": "login", "code": c})
        for m, c in ((OPEN_RU.msisdn, "000000"), (OPEN_RU.msisdn, "12ab"), (STRANGER, "123456"))
    ]
    assert {(s, str(b)) for s, _, b in answers} == {(401, str({"error": "invalid_code", "message": "the code is not valid"}))}


async def test_rate_limit_has_retry_after(http: aiohttp.ClientSession, gateway: TestServer) -> None:
    """The second request within a minute is 429 with Retry-After (case 5)."""
    await _post(http, gateway, "/api/v1/codes", {"msisdn": OPEN_RU.msisdn, "purpose": "register"})
    status, headers, body = await _post(http, gateway, "/api/v1/codes",
                                        {"msisdn": OPEN_RU.msisdn, "purpose": "login"})
    assert status == 429 and 1 <= int(headers["Retry-After"]) <= 61
    assert body == {"error": "too_many_requests", "message": "try again later"}


@pytest.mark.parametrize("number", ["+7 916 123 45 67", "0049 30 1234567", "+375 17 123-45-67",
                                    "+1 (212) 555-0100"])
async def test_off_network_number_is_not_ours(
    http: aiohttp.ClientSession, gateway: TestServer, store: SqliteStore, number: str
) -> None:
    """A well-formed number of another country or range: 422 not_our_number, as the README
    says; nothing is ever sent off-network (case 5)."""
    status, _, body = await _post(http, gateway, "/api/v1/codes", {"msisdn": number, "purpose": "login"})
    assert (status, body) == (422, {"error": "not_our_number",
                                    "message": "codes are sent to this operator's numbers only"})
    assert await store.outbox() == []


@pytest.mark.parametrize("number", ["hello", "+", "+7 916", "+79161234567890123", "+7916abc4567",
                                    "++79161234567", "0"])
async def test_what_is_no_number_stays_a_bad_request(
    http: aiohttp.ClientSession, gateway: TestServer, store: SqliteStore, number: str
) -> None:
    """Garbage, too short or too long for E.164: 400 bad_request naming the field."""
    status, _, body = await _post(http, gateway, "/api/v1/codes", {"msisdn": number, "purpose": "login"})
    assert status == 400 and "msisdn" in body["message"]  # type: ignore[index]
    assert await store.outbox() == []


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic !!"}])
async def test_forged_callers_are_refused(
    http: aiohttp.ClientSession, gateway: TestServer, store: SqliteStore, headers: dict[str, str]
) -> None:
    """No or a wrong credential: 401 and nothing changes (case 7)."""
    status, _, _ = await _post(http, gateway, "/api/v1/codes",
                               {"msisdn": OPEN_RU.msisdn, "purpose": "login"}, headers=headers)
    assert status == 401
    assert await store.outbox() == []
    snap = await store.load_codes(OPEN_RU.msisdn, "login", time.time())
    assert snap.sends_last_10_minutes == 0


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"purpose": "login"}, "msisdn"),
        ({"msisdn": OPEN_RU.msisdn, "purpose": "lunch"}, "purpose"),
        ([1, 2], "JSON object"),
        ({"msisdn": OPEN_RU.msisdn, "purpose": "login", "code": 123456}, "code"),
    ],
)
async def test_malformed_requests(http: aiohttp.ClientSession, gateway: TestServer,
                                  body: object, fragment: str) -> None:
    """Malformed bodies get a 400 naming the problem."""
    path = "/api/v1/codes/verify" if isinstance(body, dict) and "code" in body else "/api/v1/codes"
    status, _, answer = await _post(http, gateway, path, body)
    assert status == 400 and fragment in answer["message"]  # type: ignore[index]


async def test_known_and_unknown_numbers_take_alike_time(
    http: aiohttp.ClientSession, gateway: TestServer, store: SqliteStore, pepper: Pepper
) -> None:
    """Request timings of subscribers and strangers are distributed alike (case 6)."""
    known = [SeededSubscriber(f"37544{n:07d}", f"{n:08d}") for n in range(1, 31)]
    await seed(store, pepper, tuple(known))
    strangers = [f"37533{n:07d}" for n in range(1, 31)]

    async def timed(msisdn: str) -> float:
        started = time.perf_counter()
        status, _, _ = await _post(http, gateway, "/api/v1/codes", {"msisdn": msisdn, "purpose": "login"})
        assert status == 202
        return time.perf_counter() - started

    known_times, unknown_times = [], []
    for k, u in zip(known, strangers, strict=True):  # interleaved: drift hits both alike
        known_times.append(await timed(k.msisdn))
        unknown_times.append(await timed(u))
    ratio = statistics.median(known_times) / statistics.median(unknown_times)
    # The unknown path does the same read and guarded write; it only skips the code row,
    # the sealed outbox row and an audit line, all inside the same transaction.
    assert 0.67 < ratio < 1.5, (statistics.median(known_times), statistics.median(unknown_times))
