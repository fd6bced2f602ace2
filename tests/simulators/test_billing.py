"""ussd-billing over real HTTP on loopback: the contract the *100# menu is written against,
the operator's rules for orders (§1.8, §1.9), idempotency, faults, the record, the script."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from support import FakeClock

from simulators.billing import DEFAULT_TOKEN, TOKEN_ENV, BillingSimulator, _parser, _token

TOKEN = "billing-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
DAY = 86_400.0
RU, EN, SUSPENDED, CONTRACT, RICH = (
    "375291000001",
    "375331000002",
    "375441000003",
    "375251000004",
    "375291000005",
)


class Billing:
    """A client of the simulator on its loopback URL, and the simulator itself."""

    def __init__(self, http: aiohttp.ClientSession, url: str, sim: BillingSimulator) -> None:
        self.http, self.url, self.sim = http, url, sim
        self.keys = 0

    async def call(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, **kw: Any
    ) -> tuple[int, Any]:
        """(status, JSON body) of one request, with the token unless ``headers`` say else."""
        async with self.http.request(
            method, self.url + path, headers=AUTH if headers is None else headers, **kw
        ) as r:
            assert r.content_type == "application/json", await r.text()
            return r.status, await r.json()

    async def get(self, path: str) -> tuple[int, Any]:
        return await self.call("GET", path)

    async def order(
        self, msisdn: str, service: str, action: str = "connect", key: str | None = None
    ) -> tuple[int, Any]:
        """POST an order; a fresh Idempotency-Key unless ``key`` is given."""
        if key is None:
            self.keys += 1
            key = f"key-{self.keys}"
        return await self.call(
            "POST",
            f"/subscribers/{msisdn}/services/{service}",
            headers={**AUTH, "Idempotency-Key": key},
            json={"action": action},
        )

    async def service(self, msisdn: str, service: str) -> dict[str, Any]:
        status, body = await self.get(f"/subscribers/{msisdn}/services/{service}")
        assert status == 200, body
        return dict(body)

    async def balance(self, msisdn: str) -> float:
        status, body = await self.get(f"/subscribers/{msisdn}")
        assert status == 200, body
        return float(body["balance"])

    async def orders(self, msisdn: str | None = None) -> list[dict[str, Any]]:
        status, body = await self.get("/orders" + (f"?msisdn={msisdn}" if msisdn else ""))
        assert status == 200, body
        return list(body["orders"])


@pytest.fixture
def clock() -> FakeClock:
    """The simulator's clock, moved by the test."""
    return FakeClock()


@pytest.fixture
async def billing(
    tmp_path: Path, clock: FakeClock, http: aiohttp.ClientSession
) -> AsyncIterator[Billing]:
    """The simulator with the demo data, a day until orders take effect, faults enabled,
    recording to a file."""
    sim = BillingSimulator(
        token=TOKEN, clock=clock, effective_after=DAY, faults=True, record=tmp_path / "b.jsonl"
    )
    server = TestServer(sim.app(), host="127.0.0.1")
    await server.start_server()
    yield Billing(http, str(server.make_url("")).rstrip("/"), sim)
    await server.close()


# --- reads ---------------------------------------------------------------------------------


async def test_healthz_needs_no_token(billing: Billing) -> None:
    """GET /healthz answers without credentials."""
    assert await billing.call("GET", "/healthz", headers={}) == (200, {"status": "ok"})


async def test_subscriber(billing: Billing) -> None:
    """GET /subscribers/{msisdn}: plan, status, 2-decimal balance, currency, tariff, traffic."""
    assert await billing.get(f"/subscribers/{RU}") == (
        200,
        {
            "msisdn": RU,
            "plan": "prepaid",
            "status": "active",
            "balance": 12.5,
            "currency": "BYN",
            "tariff": "Comfort",
            "traffic_left_mb": 1536,
        },
    )


@pytest.mark.parametrize(
    ("msisdn", "plan", "status", "balance"),
    [
        (RU, "prepaid", "active", 12.5),
        (EN, "prepaid", "active", 3.2),
        (SUSPENDED, "prepaid", "suspended", 7.0),
        (CONTRACT, "contract", "active", 0.0),
        (RICH, "prepaid", "active", 50.0),
        ("375291000006", "contract", "active", 0.0),
        ("375291000007", "contract", "active", 0.0),
    ],
)
async def test_demo_subscribers(
    billing: Billing, msisdn: str, plan: str, status: str, balance: float
) -> None:
    """Every demo number is there with its plan, status and balance."""
    code, body = await billing.get(f"/subscribers/{msisdn}")
    assert code == 200
    assert (body["plan"], body["status"], body["balance"]) == (plan, status, balance)


@pytest.mark.parametrize(
    "path", ["", "/services", "/services/roaming"], ids=["subscriber", "services", "service"]
)
async def test_unknown_and_malformed_subscribers(billing: Billing, path: str) -> None:
    """An unknown number is 404 unknown_subscriber; one that is not 9-15 digits is 400."""
    assert await billing.get(f"/subscribers/375290000000{path}") == (
        404,
        {"reason": "unknown_subscriber"},
    )
    for bad in (
        "12345678",
        "1234567890123456",
        "+375291000001",
        "37529100000a",
        "３７５２９１０００",
    ):
        status, body = await billing.get(f"/subscribers/{bad}{path}")
        assert (status, body["reason"]) == (400, "bad_request"), bad


async def test_services_list(billing: Billing) -> None:
    """The catalogue with each service's state for the subscriber and the joined names."""
    status, body = await billing.get(f"/subscribers/{RU}/services")
    assert status == 200
    assert body["services"][0] == {
        "id": "roaming",
        "name": {"ru": "Международный роуминг", "en": "International roaming"},
        "price": 0.0,
        "connected": True,
        "pending": None,
    }
    assert [(s["id"], s["price"], s["connected"]) for s in body["services"]] == [
        ("roaming", 0.0, True),
        ("social", 5.0, False),
        ("antiid", 2.5, False),
        ("music", 3.9, False),
    ]
    assert (body["connected_ru"], body["connected_en"], body["connected_count"]) == (
        "Международный роуминг",
        "International roaming",
        1,
    )
    _, several = await billing.get("/subscribers/375291000006/services")
    assert several["connected_en"] == "International roaming, Caller ID block"
    assert several["connected_count"] == 2


async def test_no_service_connected_is_a_dash(billing: Billing) -> None:
    """With nothing connected the joined names are "—" and the count 0."""
    _, body = await billing.get(f"/subscribers/{EN}/services")
    assert (body["connected_ru"], body["connected_en"], body["connected_count"]) == ("—", "—", 0)


async def test_one_service(billing: Billing) -> None:
    """One service has the list's fields plus flat name_ru and name_en; unknown is 404."""
    assert await billing.service(RU, "social") == {
        "id": "social",
        "name": {"ru": "Безлимитные соцсети", "en": "Unlimited social apps"},
        "price": 5.0,
        "connected": False,
        "pending": None,
        "name_ru": "Безлимитные соцсети",
        "name_en": "Unlimited social apps",
    }
    assert await billing.get(f"/subscribers/{RU}/services/tv") == (
        404,
        {"reason": "unknown_service"},
    )


# --- orders and the operator's rules --------------------------------------------------------


async def test_prepaid_connect_is_charged_and_pending(billing: Billing) -> None:
    """A prepaid connect takes the price from the balance at once; the service stays
    unconnected with pending "connect" until the order takes effect."""
    status, body = await billing.order(RU, "social")
    assert (status, body) == (
        200,
        {"result": "accepted", "order": "o-000001", "effective_within_hours": 24, "balance": 7.5},
    )
    assert await billing.balance(RU) == 7.5
    social = await billing.service(RU, "social")
    assert (social["connected"], social["pending"]) == (False, "connect")
    _, listed = await billing.get(f"/subscribers/{RU}/services")
    assert listed["services"][1]["pending"] == "connect" and listed["connected_count"] == 1


async def test_insufficient_balance(billing: Billing) -> None:
    """3.20 does not pay for a 5.00 service (409, nothing charged) but pays for a 2.50 one."""
    assert await billing.order(EN, "social") == (409, {"reason": "insufficient_balance"})
    assert await billing.balance(EN) == 3.2
    status, body = await billing.order(EN, "antiid")
    assert (status, body["balance"]) == (200, 0.7)
    assert [o["service"] for o in await billing.orders(EN)] == ["antiid"]


@pytest.mark.parametrize(("service", "action"), [("social", "connect"), ("antiid", "disconnect")])
async def test_suspended_refuses_connect_and_disconnect(
    billing: Billing, service: str, action: str
) -> None:
    """While the subscriber's service is suspended, both directions are refused."""
    assert await billing.order(SUSPENDED, service, action) == (409, {"reason": "suspended"})
    assert await billing.orders(SUSPENDED) == []


async def test_contract_connects_regardless_of_balance(billing: Billing) -> None:
    """A contract plan with balance 0 connects; nothing is taken from the balance."""
    status, body = await billing.order(CONTRACT, "social")
    assert (status, body["result"], body["balance"]) == (200, "accepted", 0.0)
    (order,) = await billing.orders(CONTRACT)
    assert order["charged"] == 0.0


async def test_already_connected_not_connected_already_pending(billing: Billing) -> None:
    """Connecting a connected service, disconnecting an unconnected one, and any order on a
    service with one pending are refused (409) and charge nothing."""
    assert await billing.order(RU, "roaming", "connect") == (409, {"reason": "already_connected"})
    assert await billing.order(RU, "music", "disconnect") == (409, {"reason": "not_connected"})
    assert (await billing.order(RU, "music"))[0] == 200
    assert await billing.order(RU, "music", "connect") == (409, {"reason": "already_pending"})
    assert await billing.order(RU, "music", "disconnect") == (409, {"reason": "already_pending"})
    assert await billing.balance(RU) == 8.6
    assert len(await billing.orders(RU)) == 1


async def test_orders_take_effect_after_the_delay(billing: Billing, clock: FakeClock) -> None:
    """``connected`` flips only when effective_after seconds have passed (read lazily);
    then a new order on the service is judged on the new state."""
    await billing.order(RU, "social")
    await billing.order(RU, "roaming", "disconnect")
    clock.advance(DAY - 1)
    assert (await billing.service(RU, "social"))["pending"] == "connect"
    assert all(not o["effective"] for o in await billing.orders())
    clock.advance(1)
    social, roaming = await billing.service(RU, "social"), await billing.service(RU, "roaming")
    assert (social["connected"], social["pending"]) == (True, None)
    assert (roaming["connected"], roaming["pending"]) == (False, None)
    _, listed = await billing.get(f"/subscribers/{RU}/services")
    assert (listed["connected_ru"], listed["connected_count"]) == ("Безлимитные соцсети", 1)
    assert all(o["effective"] for o in await billing.orders())
    assert await billing.order(RU, "social") == (409, {"reason": "already_connected"})
    assert (await billing.order(RU, "social", "disconnect"))[0] == 200


async def test_disconnect_is_free(billing: Billing, clock: FakeClock) -> None:
    """A disconnect charges nothing and leaves "—" once effective."""
    status, body = await billing.order(RU, "roaming", "disconnect")
    assert (status, body["balance"]) == (200, 12.5)
    clock.advance(DAY)
    _, listed = await billing.get(f"/subscribers/{RU}/services")
    assert listed["connected_ru"] == "—"


async def test_order_ids_count_up(billing: Billing) -> None:
    """Order ids are o-000001, o-000002, … across subscribers."""
    assert (await billing.order(RU, "social"))[1]["order"] == "o-000001"
    assert (await billing.order(RICH, "social"))[1]["order"] == "o-000002"


# --- idempotency ---------------------------------------------------------------------------


async def test_same_key_replays_without_charging_again(billing: Billing, clock: FakeClock) -> None:
    """The same key and request replay the first answer byte for byte, even after the order
    took effect; one order, one charge."""
    url = f"{billing.url}/subscribers/{RU}/services/social"
    headers = {**AUTH, "Idempotency-Key": "retry-1", "Content-Type": "application/json"}
    answers = []
    for step in range(3):
        async with billing.http.post(url, headers=headers, data=b'{"action": "connect"}') as r:
            answers.append((r.status, await r.read()))
        if step == 1:
            clock.advance(DAY)
    assert answers[0][0] == 200 and answers == [answers[0]] * 3
    assert await billing.balance(RU) == 7.5
    assert len(await billing.orders(RU)) == 1


async def test_a_refusal_is_replayed_too(billing: Billing) -> None:
    """A 409 under a key stays that key's answer."""
    assert await billing.order(EN, "social", key="k") == (409, {"reason": "insufficient_balance"})
    assert await billing.order(EN, "social", key="k") == (409, {"reason": "insufficient_balance"})


@pytest.mark.parametrize(
    ("msisdn", "service", "action"),
    [(RICH, "social", "connect"), (RU, "music", "connect"), (RU, "social", "disconnect")],
    ids=["other-subscriber", "other-service", "other-action"],
)
async def test_key_reused_for_another_request(
    billing: Billing, msisdn: str, service: str, action: str
) -> None:
    """The same key with a different (msisdn, service, action) is 422 and does nothing."""
    assert (await billing.order(RU, "social", key="once"))[0] == 200
    assert await billing.order(msisdn, service, action, key="once") == (
        422,
        {"reason": "idempotency_key_reused"},
    )
    assert len(await billing.orders()) == 1
    assert await billing.balance(RICH) == 50.0


async def test_idempotency_key_is_required(billing: Billing) -> None:
    """No key (or an empty one) is 400 idempotency_key_required; an absurd one 400."""
    path = f"/subscribers/{RU}/services/social"
    for headers in (AUTH, {**AUTH, "Idempotency-Key": " "}):
        status, body = await billing.call("POST", path, headers=headers, json={"action": "connect"})
        assert (status, body) == (400, {"reason": "idempotency_key_required"})
    long_key = {**AUTH, "Idempotency-Key": "k" * 256}
    status, body = await billing.call("POST", path, headers=long_key, json={"action": "connect"})
    assert (status, body["reason"]) == (400, "bad_request")
    assert await billing.orders() == []


def test_keys_kept_are_bounded(monkeypatch: pytest.MonkeyPatch, clock: FakeClock) -> None:
    """Only the last N keys are remembered: the oldest is forgotten first."""
    import simulators.billing_ledger as ledger_module

    monkeypatch.setattr(ledger_module, "IDEMPOTENCY_KEYS_KEPT", 2)
    ledger = BillingSimulator(clock=clock).ledger
    for key in ("a", "b", "c"):
        ledger.order(key, RU, "tv", "connect")
    assert ledger.remembered("a", (RU, "tv", "connect")) is None
    assert ledger.remembered("c", (RU, "tv", "connect")) == (404, {"reason": "unknown_service"})


# --- auth and malformed requests -----------------------------------------------------------

ROUTES = [
    ("GET", f"/subscribers/{RU}"),
    ("GET", f"/subscribers/{RU}/services"),
    ("GET", f"/subscribers/{RU}/services/social"),
    ("POST", f"/subscribers/{RU}/services/social"),
    ("GET", "/orders"),
    ("POST", "/_faults"),
    ("DELETE", "/_faults"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", f"Basic {TOKEN}", TOKEN, f"Bearer {TOKEN}x", "Bearer ключ"],
)
async def test_every_route_needs_the_token(
    billing: Billing, method: str, path: str, authorization: str | None
) -> None:
    """No or a wrong Authorization is 401 unauthorized, before anything is done."""
    headers = {"Idempotency-Key": "k"} | ({"Authorization": authorization} if authorization else {})
    status, body = await billing.call(method, path, headers=headers, json={"action": "connect"})
    assert (status, body) == (401, {"reason": "unauthorized"})
    assert billing.sim.ledger.orders == [] and billing.sim.faults is None


MALFORMED: list[tuple[str, dict[str, str], bytes]] = [
    ("bad-json", {"Content-Type": "application/json"}, b'{"action": "connect"'),
    ("text-plain", {"Content-Type": "text/plain"}, b'{"action": "connect"}'),
    ("form", {"Content-Type": "application/x-www-form-urlencoded"}, b"action=connect"),
    ("no-type", {}, b'{"action": "connect"}'),
    ("latin-1", {"Content-Type": "application/json; charset=latin-1"}, b'{"action": "connect"}'),
    ("bad-utf8", {"Content-Type": "application/json"}, b'{"action": "conn\xff\xfeect"}'),
    ("empty", {"Content-Type": "application/json"}, b""),
    ("array", {"Content-Type": "application/json"}, b'["connect"]'),
    ("unknown-action", {"Content-Type": "application/json"}, b'{"action": "toggle"}'),
    ("action-not-text", {"Content-Type": "application/json"}, b'{"action": 1}'),
    ("extra-key", {"Content-Type": "application/json"}, b'{"action": "connect", "x": 1}'),
    ("deep", {"Content-Type": "application/json"}, b"[" * 4000),
]


@pytest.mark.parametrize(("case", "headers", "body"), MALFORMED, ids=[m[0] for m in MALFORMED])
async def test_malformed_bodies_are_400(
    billing: Billing, case: str, headers: dict[str, str], body: bytes
) -> None:
    """A body that is not {"action": …} in UTF-8 JSON is 400 bad_request; nothing ordered."""
    all_headers = {**AUTH, "Idempotency-Key": case, **headers}
    status, answer = await billing.call(
        "POST", f"/subscribers/{RU}/services/social", headers=all_headers, data=body
    )
    assert (status, answer["reason"]) == (400, "bad_request")
    assert billing.sim.ledger.orders == []


async def test_huge_bodies_are_413(billing: Billing) -> None:
    """Over 4 KiB, announced or chunked, is 413 bad_request, not a crash."""
    headers = {**AUTH, "Idempotency-Key": "big", "Content-Type": "application/json"}
    path = f"/subscribers/{RU}/services/social"
    huge = b'{"action": "connect", "pad": "' + b"x" * 100_000 + b'"}'
    assert await billing.call("POST", path, headers=headers, data=huge) == (
        413,
        {"reason": "bad_request", "detail": "the body is over 4096 bytes"},
    )

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b" " * 1000

    status, body = await billing.call("POST", path, headers=headers, data=chunks())
    assert (status, body["reason"]) == (413, "bad_request")
    assert billing.sim.ledger.orders == []


async def test_unknown_routes_and_methods_are_json(billing: Billing) -> None:
    """An unknown route is 404 not_found and a wrong method 405, both JSON."""
    assert await billing.get("/nowhere") == (404, {"reason": "not_found"})
    assert await billing.call("GET", "/nowhere", headers={}) == (404, {"reason": "not_found"})
    assert await billing.call("PUT", f"/subscribers/{RU}") == (
        405,
        {"reason": "method_not_allowed"},
    )


# --- the order list ------------------------------------------------------------------------


async def test_orders_list(billing: Billing, clock: FakeClock) -> None:
    """Every accepted order, filtered by msisdn, with a digest of the key, never the key."""
    await billing.order(RU, "social", key="secret-key-1")
    await billing.order(EN, "social", key="secret-key-2")  # refused: not an order
    await billing.order(RICH, "antiid", key="secret-key-3")
    everything = await billing.orders()
    assert [(o["id"], o["msisdn"]) for o in everything] == [("o-000001", RU), ("o-000002", RICH)]
    first = everything[0]
    assert {k: first[k] for k in ("service", "action", "charged", "effective")} == {
        "service": "social",
        "action": "connect",
        "charged": 5.0,
        "effective": False,
    }
    assert first["at"] == "2027-01-15T08:00:00Z" and first["effective_at"] == "2027-01-16T08:00:00Z"
    assert len(first["idempotency_key_sha256"]) == 64
    assert "secret-key" not in json.dumps(everything)
    assert [o["id"] for o in await billing.orders(RICH)] == ["o-000002"]
    assert await billing.orders("375290000000") == []
    status, body = await billing.get("/orders?msisdn=12")
    assert (status, body["reason"]) == (400, "bad_request")


# --- fault switches ------------------------------------------------------------------------


async def test_faults_are_off_unless_enabled(http: aiohttp.ClientSession) -> None:
    """Without --faults /_faults does not exist (404), even with the token."""
    sim = BillingSimulator(token=TOKEN)
    server = TestServer(sim.app(), host="127.0.0.1")
    await server.start_server()
    try:
        client = Billing(http, str(server.make_url("")).rstrip("/"), sim)
        assert await client.call("POST", "/_faults", json={"status": 503}) == (
            404,
            {"reason": "not_found"},
        )
        assert await client.call("DELETE", "/_faults") == (404, {"reason": "not_found"})
    finally:
        await server.close()


async def test_fault_status_handles_nothing(billing: Billing) -> None:
    """A status fault answers that status and orders nothing; /orders stays truthful
    with routes "/subscribers"; DELETE clears the switches."""
    fault = {"status": 503, "routes": "/subscribers"}
    assert await billing.call("POST", "/_faults", json=fault) == (
        200,
        {"faults": {"delay": 0.0, "status": 503, "malformed": False, "routes": "/subscribers"}},
    )
    assert await billing.order(RU, "social", key="during") == (503, {"reason": "injected_fault"})
    assert await billing.orders() == []
    assert await billing.call("DELETE", "/_faults") == (200, {"faults": None})
    assert (await billing.order(RU, "social", key="during"))[0] == 200  # the retry is handled


async def test_fault_routes_all(billing: Billing) -> None:
    """routes "all" reaches every route but /_faults itself."""
    await billing.call("POST", "/_faults", json={"status": 500})
    assert await billing.get("/orders") == (500, {"reason": "injected_fault"})
    assert await billing.call("GET", "/healthz", headers={}) == (500, {"reason": "injected_fault"})
    assert (await billing.call("DELETE", "/_faults"))[0] == 200


async def test_fault_malformed(billing: Billing) -> None:
    """malformed answers ``{not json`` (200, or the status given)."""
    await billing.call("POST", "/_faults", json={"malformed": True})
    async with billing.http.get(f"{billing.url}/subscribers/{RU}", headers=AUTH) as r:
        assert (r.status, await r.text()) == (200, "{not json")
    await billing.call("POST", "/_faults", json={"malformed": True, "status": 502})
    async with billing.http.get(f"{billing.url}/subscribers/{RU}", headers=AUTH) as r:
        assert (r.status, await r.text()) == (502, "{not json")


async def test_fault_delay_handles_then_holds_the_answer(billing: Billing) -> None:
    """A delayed connect is ordered at once and answered after the delay: a retry with the
    same key is replayed, not charged twice."""
    await billing.call("POST", "/_faults", json={"delay": 0.5, "routes": "/subscribers"})
    started = time.monotonic()
    slow = asyncio.create_task(billing.order(RU, "social", key="slow"))
    await asyncio.sleep(0.2)
    assert not slow.done() and len(await billing.orders()) == 1
    status, body = await slow
    assert status == 200 and time.monotonic() - started >= 0.5
    await billing.call("DELETE", "/_faults")
    assert await billing.order(RU, "social", key="slow") == (status, body)
    assert await billing.balance(RU) == 7.5


@pytest.mark.parametrize(
    "fault",
    [
        {"delay": -1},
        {"delay": 61},
        {"status": 200},
        {"status": "503"},
        {"malformed": "yes"},
        {"routes": "/orders"},
        {"colour": "red"},
        [],
    ],
)
async def test_bad_fault_switches_are_400(billing: Billing, fault: object) -> None:
    """A fault body out of range or of the wrong shape is 400 and sets nothing."""
    status, body = await billing.call("POST", "/_faults", json=fault)
    assert (status, body["reason"]) == (400, "bad_request") and body["detail"]
    assert billing.sim.faults is None


# --- the record ----------------------------------------------------------------------------


async def test_record_masks_msisdns_and_holds_no_token(billing: Billing) -> None:
    """One line per request: method, route template, masked msisdn, status, reason."""
    await billing.get(f"/subscribers/{RU}")
    await billing.order(EN, "social", key="my-idempotency-key")
    await billing.call("GET", f"/subscribers/{RU}", headers={"Authorization": "Bearer guess"})
    await billing.get(f"/orders?msisdn={RICH}")
    await billing.get("/nowhere")
    record = billing.sim.record
    assert record is not None
    text = record.read_text(encoding="utf-8")
    lines = [json.loads(line) for line in text.splitlines()]
    assert [{k: v for k, v in line.items() if k != "at"} for line in lines] == [
        {
            "method": "GET",
            "route": "/subscribers/{msisdn}",
            "msisdn": "37529*****01",
            "status": 200,
            "reason": None,
        },
        {
            "method": "POST",
            "route": "/subscribers/{msisdn}/services/{service_id}",
            "msisdn": "37533*****02",
            "status": 409,
            "reason": "insufficient_balance",
        },
        {
            "method": "GET",
            "route": "/subscribers/{msisdn}",
            "msisdn": "37529*****01",
            "status": 401,
            "reason": "unauthorized",
        },
        {
            "method": "GET",
            "route": "/orders",
            "msisdn": "37529*****05",
            "status": 200,
            "reason": None,
        },
        {"method": "GET", "route": None, "msisdn": None, "status": 404, "reason": "not_found"},
    ]
    for secret in (TOKEN, "guess", "my-idempotency-key", RU, EN, RICH):
        assert secret not in text


# --- the console script --------------------------------------------------------------------


def _command() -> list[str]:
    script = Path(sys.executable).with_name("ussd-billing")
    return [str(script)] if script.exists() else [sys.executable, "-m", "simulators.billing"]


async def test_console_script_serves(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    """``ussd-billing serve --port 0`` prints one start-up line (no token), takes the token
    from --token-file, answers, records, and exits 0 on SIGTERM."""
    token_file = tmp_path / "token"
    token_file.write_text("file-token-123\n", encoding="utf-8")
    record = tmp_path / "rec" / "billing.jsonl"
    proc = await asyncio.create_subprocess_exec(
        *_command(), "serve", "--port", "0", "--token-file", str(token_file),
        "--record", str(record), "--effective-after", "0",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    try:
        first = (await asyncio.wait_for(proc.stdout.readline(), 15)).decode()
        assert first.startswith("ussd-billing: listening on http://127.0.0.1:"), first
        assert "token from --token-file" in first and "faults off" in first
        url = first.split(" on ", 1)[1].split()[0]
        headers = {"Authorization": "Bearer file-token-123"}
        async with http.get(f"{url}/subscribers/{RU}", headers=headers) as r:
            assert r.status == 200 and (await r.json())["balance"] == 12.5
        async with http.get(f"{url}/subscribers/{RU}", headers=AUTH) as r:
            assert r.status == 401
        async with http.post(f"{url}/_faults", headers=headers, json={}) as r:
            assert r.status == 404
        post_headers = {**headers, "Idempotency-Key": "cli-1"}
        async with http.post(
            f"{url}/subscribers/{RU}/services/music", headers=post_headers,
            json={"action": "connect"},
        ) as r:  # fmt: skip
            assert r.status == 200
        async with http.get(f"{url}/subscribers/{RU}/services/music", headers=headers) as r:
            assert (await r.json())["connected"] is True  # --effective-after 0
        shown = (await asyncio.wait_for(proc.stdout.readline(), 5)).decode()
        assert shown.startswith("order o-000001: connect music for 37529*****01 accepted")
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(proc.communicate(), 10)
    assert proc.returncode == 0 and err == b""
    assert len(record.read_text(encoding="utf-8").splitlines()) == 5
    assert "file-token-123" not in first + out.decode() + record.read_text(encoding="utf-8")


async def _run(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *_command(), *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), 15)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_console_script_port_in_use_exits_2() -> None:
    """A port already taken is one line on stderr and exit status 2."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, out, err = await _run("serve", "--port", str(port))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith(
        f"ussd-billing: cannot listen on 127.0.0.1:{port}"
    )


async def test_console_script_bad_data_exits_2(tmp_path: Path) -> None:
    """A data file with a mistake is one line naming the key, exit status 2."""
    data = tmp_path / "data.yaml"
    data.write_text(
        "currency: BYN\nservices: {}\nsubscribers:\n  '375291000001': {plan: prepaid}\n",
        encoding="utf-8",
    )
    code, _, err = await _run("serve", "--port", "0", "--data", str(data))
    assert code == 2
    assert err == f"ussd-billing: billing data {data}: subscribers.375291000001.status: missing\n"


async def test_console_script_version() -> None:
    """--version prints the package's version."""
    code, out, _ = await _run("--version")
    assert code == 0 and out.startswith("ussd-billing ")


def test_the_token_comes_from_the_file_then_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--token-file wins over $USSD_BILLING_TOKEN, which wins over the demo default; the
    source is named, never the token."""
    token_file = tmp_path / "token"
    token_file.write_text(" file-token \n", encoding="utf-8")
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    assert _token(_parser().parse_args(["serve"])) == (DEFAULT_TOKEN, "the demo default")
    monkeypatch.setenv(TOKEN_ENV, "env-token")
    assert _token(_parser().parse_args(["serve"])) == ("env-token", f"${TOKEN_ENV}")
    with_file = _parser().parse_args(["serve", "--token-file", str(token_file)])
    assert _token(with_file) == ("file-token", "--token-file")


async def test_console_script_empty_token_file_exits_2(tmp_path: Path) -> None:
    """An empty --token-file is one line on stderr and exit status 2, before listening."""
    empty = tmp_path / "token"
    empty.write_text("\n", encoding="utf-8")
    code, out, err = await _run("serve", "--port", "0", "--token-file", str(empty))
    assert (code, out, err) == (2, "", f"ussd-billing: {empty} is empty\n")
