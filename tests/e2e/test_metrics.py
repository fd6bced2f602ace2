"""Each metric moves when its event happens, and /readyz tells the truth: the real gateway on
loopback, a fake SMSC (``ussd-smsc``'s Kannel side) or a refusing one, real HTTP callers."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from metrics_support import readyz, scrape, until
from support import API_SECRET, MO_SECRET, OPEN_EN, OPEN_RU, PEPPER_HEX, SECRETS, FakeClock

from simulators.handset import Handset
from simulators.process import free_port
from simulators.smsc import FakeSmsc
from state.credentials import Pepper, Sealer
from state.models import ChangeSet, OutboxMessage
from state.sqlite import SqliteStore
from ussd_gateway.app import create_app
from ussd_gateway.config import Secret, Settings
from ussd_gateway.http.appkeys import STORE

KANNEL_PASSWORD = "kannel-password-never-shown"
API = {"Authorization": f"Bearer {API_SECRET}"}
_CODE = re.compile(r"(?<!\d)(\d{6})(?!\d)")


@pytest.fixture
async def serve(
    settings: Settings, store: SqliteStore, clock: FakeClock
) -> AsyncIterator[Callable[..., Any]]:
    """Start the gateway with changed SMS settings (on a given port if need be)."""
    servers: list[TestServer] = []

    async def start(port: int = 0, codes: dict[str, Any] | None = None, **sms: Any) -> TestServer:
        changed = replace(
            settings,
            sms=replace(settings.sms, **sms),
            codes=replace(settings.codes, **(codes or {})),
        )
        server = TestServer(create_app(changed, clock=clock), host="127.0.0.1", port=port)
        await server.start_server()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.close()


def url(server: TestServer) -> str:
    return str(server.make_url("")).rstrip("/")


async def post(http: aiohttp.ClientSession, server: TestServer, path: str, body: Any) -> int:
    async with http.post(server.make_url(path), json=body, headers=API) as r:
        return r.status


async def test_an_sms_the_smsc_takes_is_counted_with_its_delivery_report(
    serve: Callable[..., Any], http: aiohttp.ClientSession
) -> None:
    """Accepted by ``ussd-smsc``'s Kannel interface, then its delivery report comes back:
    a send ``accepted``, its time, the sender up, the report ``delivered``, /readyz ok."""
    smsc = FakeSmsc(password=KANNEL_PASSWORD, dlr_delay=0.01, out=io.StringIO())
    await smsc.start("127.0.0.1", 0)
    try:
        port = free_port()
        gateway = await serve(
            port,
            sender="kannel",
            kannel_sendsms_url=smsc.url + "/cgi-bin/sendsms",
            kannel_username="tester",
            kannel_password=Secret(KANNEL_PASSWORD),
            dlr_url=f"http://127.0.0.1:{port}/sms/dlr",
        )
        code = {"msisdn": OPEN_RU.msisdn, "purpose": "login"}
        assert await post(http, gateway, "/api/v1/codes", code) == 202

        async def reported() -> bool:
            page = await scrape(url(gateway))
            return page.value("ussd_sms_delivery_reports_total", source="kannel",
                              delivery="delivered") == 1

        await until(reported)
        page = await scrape(url(gateway))
        assert page.value("ussd_sms_sends_total", sender="kannel", result="accepted") == 1
        assert page.value("ussd_sms_send_seconds_count", sender="kannel") == 1
        assert page.value("ussd_sms_sender_up", sender="kannel") == 1
        assert page.value("ussd_sms_retries_total", sender="kannel") == 0
        assert len(smsc.messages) == 1
        status, report, _ = await readyz(url(gateway))
        assert status == 200 and report["checks"]["smsc"]["state"] == "ok"
        assert report["checks"]["smsc"]["sender"] == "kannel"
    finally:
        await smsc.stop()


async def test_a_refusing_smsc_fills_the_outbox_and_the_instance_is_not_ready(
    serve: Callable[..., Any], store: SqliteStore, clock: FakeClock
) -> None:
    """Nothing listens at the SMSC's URL: every send is retried, the sender is down, the
    outbox holds the messages and ages; /readyz says so (503, details) without the URL
    or the password."""
    gateway = await serve(
        sender="kannel",
        kannel_sendsms_url="http://127.0.0.1:1/cgi-bin/sendsms",  # nothing listens on port 1
        kannel_username="gateway",
        kannel_password=Secret(KANNEL_PASSWORD),
    )
    status, report, _ = await readyz(url(gateway))
    assert status == 200 and report["checks"]["smsc"] == {
        "ok": True,
        "sender": "kannel",
        "state": "unknown",
    }
    assert report["checks"]["outbox"]["pending"] == 0
    started = clock.now
    await store.commit(
        ChangeSet(outbox=tuple(OutboxMessage(OPEN_RU.msisdn, "test", t, started) for t in "ab"))
    )

    async def both_tried() -> bool:
        page = await scrape(url(gateway))
        return page.value("ussd_sms_sends_total", sender="kannel", result="retry") == 2

    await until(both_tried)

    async def outbox_read() -> bool:
        return (await scrape(url(gateway))).value("ussd_sms_outbox_pending") == 2

    await until(outbox_read)
    page = await scrape(url(gateway))
    assert page.value("ussd_sms_sender_up", sender="kannel") == 0
    assert page.value("ussd_ready") == 0
    assert page.value("ussd_ready_check", check="smsc") == 0
    assert page.value("ussd_ready_check", check="outbox") == 1
    assert page.value("ussd_sms_outbox_oldest_age_seconds") == 0
    status, report, raw = await readyz(url(gateway))
    assert status == 503 and report["status"] == "not_ready"
    smsc = report["checks"]["smsc"]
    assert (smsc["ok"], smsc["state"], smsc["failing_since"], smsc["failures"]) == (
        False,
        "failing",
        started,
        2,
    )
    assert smsc["detail"].startswith("connection: ")
    assert report["checks"]["store"]["ok"] and report["checks"]["menus"]["ok"]
    for secret in (KANNEL_PASSWORD, "127.0.0.1:1", "sendsms", "http://"):
        assert secret not in raw

    clock.advance(6)  # the first retry is due after 5 s

    async def retried() -> bool:
        return (await scrape(url(gateway))).value("ussd_sms_retries_total", sender="kannel") == 2

    await until(retried)
    clock.advance(400)  # older than the 300 s a ready outbox allows

    async def too_old() -> bool:
        return (await scrape(url(gateway))).value("ussd_sms_outbox_oldest_age_seconds") >= 406

    await until(too_old)
    status, report, _ = await readyz(url(gateway))
    outbox = report["checks"]["outbox"]
    assert status == 503 and not outbox["ok"] and outbox["pending"] == 2
    assert outbox["max_age_seconds"] == 300 and outbox["max_pending"] == 1000


async def test_code_requests_and_checks_are_counted_by_outcome(
    serve: Callable[..., Any], store: SqliteStore, http: aiohttp.ClientSession
) -> None:
    """Queued, limited, unknown, refused; verified, wrong, no code, locked: each counted,
    while every caller still gets the one answer its kind always gets."""
    gateway = await serve(codes={"allowed_prefixes": ("37529",)})  # not 33: refused
    login = {"purpose": "login"}
    assert await post(http, gateway, "/api/v1/codes", {**login, "msisdn": OPEN_RU.msisdn}) == 202
    assert await post(http, gateway, "/api/v1/codes", {**login, "msisdn": OPEN_RU.msisdn}) == 429
    assert await post(http, gateway, "/api/v1/codes", {**login, "msisdn": "375290000000"}) == 202
    assert await post(http, gateway, "/api/v1/codes", {**login, "msisdn": OPEN_EN.msisdn}) == 422
    (row,) = await store.outbox(OPEN_RU.msisdn)
    found = _CODE.search(Sealer(Pepper.from_hex(PEPPER_HEX)).open(row.body))
    assert found is not None
    code = found.group(1)
    wrong = "000000" if code != "000000" else "111111"
    verify = "/api/v1/codes/verify"
    ru = {**login, "msisdn": OPEN_RU.msisdn}
    assert await post(http, gateway, verify, {**ru, "code": wrong}) == 401
    assert await post(http, gateway, verify, {**ru, "code": code}) == 200
    assert await post(http, gateway, verify, {**ru, "code": code}) == 401  # used up
    en = {**login, "msisdn": OPEN_EN.msisdn, "code": "123456"}
    for _ in range(11):  # no code at all: ten failures lock checks, the eleventh is locked
        assert await post(http, gateway, verify, en) == 401
    page = await scrape(url(gateway))
    requested = {
        outcome: page.value("ussd_code_requests_total", purpose="login", outcome=outcome)
        for outcome in ("queued", "limited", "unknown", "refused", "reply")
    }
    assert requested == {"queued": 1, "limited": 1, "unknown": 1, "refused": 1, "reply": 0}
    checked = {
        outcome: page.value("ussd_code_checks_total", purpose="login", outcome=outcome)
        for outcome in ("verified", "wrong", "no_code", "locked")
    }
    assert checked == {"verified": 1, "wrong": 1, "no_code": 11, "locked": 1}
    codes = {"route": "/api/v1/codes", "method": "POST"}
    assert page.value("ussd_http_requests_total", **codes, status="2xx") == 2
    assert page.value("ussd_http_requests_total", **codes, status="4xx") == 2


async def test_http_requests_are_counted_by_route_pattern_and_status_class(
    gateway: TestServer, http: aiohttp.ClientSession
) -> None:
    """A route's pattern, never its path (no number in a label); a path no route takes is
    ``unmatched``; every status class, USSD hops included."""
    phone = Handset(http, url=url(gateway), msisdn=OPEN_RU.msisdn, dialect="native",
                    secret=SECRETS["native"])
    await phone.dial("*141*3*6#")
    access = f"/api/v1/operator/subscribers/{OPEN_RU.msisdn}/access"
    async with http.post(gateway.make_url(access), json={"action": "close"}) as r:
        refused = r.status  # no operator credential is configured: refused
    async with http.get(gateway.make_url(f"/no/such/{OPEN_EN.msisdn}")) as r:
        assert r.status == 404
    async with http.get(gateway.make_url("/healthz")) as r:
        assert r.status == 200
    page = await scrape(url(gateway))
    assert page.value("ussd_http_requests_total", route="/ussd", method="POST", status="2xx") == 1
    pattern = "/api/v1/operator/subscribers/{msisdn}/access"
    assert page.value("ussd_http_requests_total", route=pattern, method="POST",
                      status=f"{refused // 100}xx") == 1
    assert page.value("ussd_http_requests_total", route="unmatched", method="GET",
                      status="4xx") == 1
    assert page.value("ussd_http_request_seconds_count", route=pattern) == 1
    routes = page.label_values("ussd_http_requests_total", "route")
    assert not any(re.search(r"\d{5}", route) for route in routes), routes


async def test_mo_and_delivery_reports_are_counted_by_outcome(
    gateway: TestServer, http: aiohttp.ClientSession
) -> None:
    """Kannel's MO by outcome (a code's reply, the help, malformed, forbidden); delivery
    reports by provider and status (a type we don't know is ``other``)."""
    mo = gateway.make_url("/sms/mo")
    kannel = {"to": "141", "token": MO_SECRET}
    async with http.get(mo, params={**kannel, "from": f"+{OPEN_RU.msisdn}", "text": "KOD"}) as r:
        assert r.status == 200 and _CODE.search(await r.text())
    async with http.get(mo, params={**kannel, "from": f"+{OPEN_RU.msisdn}", "text": "HELP"}) as r:
        assert r.status == 200
    async with http.get(mo, params={**kannel, "text": "KOD", "from": ""}) as r:
        assert r.status == 200  # malformed: Kannel still gets the help as its reply
    async with http.get(mo, params={**kannel, "token": "forged", "from": "1", "text": "x"}) as r:
        assert r.status == 403
    dlr = gateway.make_url("/sms/dlr")
    for kind in ("1", "16", "3"):
        async with http.get(dlr, params={"id": "7", "status": kind, "token": MO_SECRET}) as r:
            assert r.status == 200
    async with http.post(dlr, params={"token": MO_SECRET},
                         data={"id": "j-1", "message_status": "UNDELIV"}) as r:
        assert r.status == 200
    page = await scrape(url(gateway))
    assert page.value("ussd_sms_mo_total", source="kannel-get", outcome="reply") == 1
    assert page.value("ussd_sms_mo_total", source="kannel-get", outcome="help") == 1
    assert page.value("ussd_sms_mo_total", source="kannel-get", outcome="malformed") == 1
    assert page.value("ussd_sms_mo_total", source="unknown", outcome="forbidden") == 1
    assert page.value("ussd_code_requests_total", purpose="login", outcome="reply") == 1
    reports = {
        (source, delivery): page.value(
            "ussd_sms_delivery_reports_total", source=source, delivery=delivery
        )
        for source, delivery in (
            ("kannel", "delivered"),
            ("kannel", "rejected"),
            ("kannel", "other"),
            ("jasmin", "undelivered"),
        )
    }
    assert set(reports.values()) == {1.0}, reports


async def test_readyz_turns_503_when_the_store_cannot_be_reached(
    gateway: TestServer, http: aiohttp.ClientSession
) -> None:
    """The store goes away: /readyz 503 naming the store (and the outbox it could not
    read), /healthz 503 as before, /metrics still answers with ``ussd_store_up 0``."""
    status, report, _ = await readyz(url(gateway))
    assert status == 200 and report["status"] == "ready"
    assert set(report["checks"]) == {"store", "menus", "outbox", "smsc", "smtp"}
    assert all(check["ok"] for check in report["checks"].values())
    await gateway.app[STORE].close()

    async def down() -> bool:
        return (await readyz(url(gateway)))[0] == 503

    await until(down)
    _, report, _ = await readyz(url(gateway))
    assert report["checks"]["store"] == {
        "ok": False,
        "backend": "SqliteStore",
        "error": "StoreUnavailable",
    }
    assert not report["checks"]["outbox"]["ok"] and report["checks"]["menus"]["ok"]
    async with http.get(gateway.make_url("/healthz")) as r:
        assert r.status == 503
    page = await scrape(url(gateway))
    assert page.value("ussd_store_up") == 0 and page.value("ussd_ready") == 0
    assert not page.has("ussd_sms_outbox_pending")

