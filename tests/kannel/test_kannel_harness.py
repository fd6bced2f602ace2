"""The Kannel harness, end to end, without the gateway: a stub MO endpoint stands in for it.

A subscriber's MO goes fakesmsc → bearerbox → smsbox → the stub's get-url (or post-url), and
the stub's answer comes back to fakesmsc as the reply; an MT goes ``cgi-bin/sendsms`` →
smsbox → bearerbox → fakesmsc. These pin down the Kannel behaviour the gateway's SMS code
relies on (escapes, recoding, UCS-2, empty and failed replies, delivery reports).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from harness import (
    FakeSmsc,
    Kannel,
    KannelBinaries,
    KannelConfig,
    SmscMessage,
    kannel_running,
    require_kannel,
)

PHONE = "+375291234567"
SERVICE = "141"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@dataclass(frozen=True)
class MoRequest:
    """One call Kannel made to the stub MO endpoint."""

    method: str
    query: dict[str, str]
    headers: dict[str, str]
    body: str


@dataclass
class Stub:
    """The stub gateway: its MO URL and DLR URL, and what Kannel sent to them."""

    base_url: str
    mo: list[MoRequest] = field(default_factory=list)
    dlr: list[dict[str, str]] = field(default_factory=list)
    dlr_arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    @property
    def mo_url(self) -> str:
        """Where Kannel sends MOs."""
        return f"{self.base_url}/sms/mo"


def _stub_app(stub: Stub) -> web.Application:
    async def mo(request: web.Request) -> web.Response:
        body = await request.text() if request.method == "POST" else ""
        stub.mo.append(MoRequest(request.method, dict(request.query), dict(request.headers), body))
        text = request.query.get("text", "")
        if text == "EMPTY":
            return web.Response(text="")  # omit-empty: no reply at all
        if text == "FAIL":
            return web.Response(status=500, text="boom")
        reply = f"Reply to {text}"
        # Without X-Kannel-Coding: 2 Kannel sends Cyrillic as "?" (see harness.py).
        headers = {} if reply.isascii() else {"X-Kannel-Coding": "2"}
        return web.Response(text=reply, charset="utf-8", headers=headers)

    async def dlr(request: web.Request) -> web.Response:
        async with stub.dlr_arrived:
            stub.dlr.append(dict(request.query))
            stub.dlr_arrived.notify_all()
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_route("*", "/sms/mo", mo)
    app.router.add_get("/dlr", dlr)
    return app


@pytest.fixture
async def stub(aiohttp_server: Any) -> Stub:
    """The stub gateway on a loopback port."""
    made = Stub(base_url="")
    server = await aiohttp_server(_stub_app(made), host="127.0.0.1")
    made.base_url = str(server.make_url("")).rstrip("/")
    return made


@pytest.fixture
def mo_method() -> str:
    """get-url unless a test parametrizes it."""
    return "get"


@dataclass
class Running:
    """Kannel pointed at the stub, with a subscriber on fakesmsc."""

    kannel: Kannel
    phone: FakeSmsc
    stub: Stub


@pytest.fixture
async def running(
    tmp_path: Path, kannel_binaries: KannelBinaries, stub: Stub, mo_method: str
) -> AsyncIterator[Running]:
    """Kannel (bearerbox, smsbox) and fakesmsc, stopped after the test."""
    assert mo_method in ("get", "post")
    config = KannelConfig(
        mo_url=stub.mo_url,
        directory=tmp_path / "kannel",
        mo_method="get" if mo_method == "get" else "post",
        dlr_url=f"{stub.base_url}/dlr?ours=default&status=%d&phone=%p&smsc=%i",
    )
    async with kannel_running(config, kannel_binaries) as kannel, FakeSmsc(kannel) as phone:
        yield Running(kannel, phone, stub)


def _to_phone(m: SmscMessage) -> bool:
    return m.receiver == PHONE and m.sender == SERVICE


@pytest.mark.kannel
@pytest.mark.parametrize("mo_method", ["get", "post"])
async def test_mo_reaches_the_url_and_its_answer_comes_back(running: Running) -> None:
    """An MO calls the MO URL with every escape filled in; the response body is the reply."""
    await running.phone.send_mo(PHONE, SERVICE, "KOD hello")

    reply = await running.phone.wait_for_mt(_to_phone)
    assert (reply.kind, reply.text) == ("text", "Reply to KOD hello")
    assert reply.raw == f"{SERVICE} {PHONE} text Reply to KOD hello"

    [call] = running.stub.mo
    assert call.method == running.kannel.config.mo_method.upper()
    query = dict(call.query)
    assert UUID.match(query.pop("id"))
    assert query == {
        "from": PHONE,
        "to": SERVICE,
        "text": "KOD hello",
        "smsc": "FAKE",
        "coding": "0",
        "charset": "UTF-8",
    }
    if call.method == "POST":
        assert call.body == "KOD hello"
        assert call.headers["Content-Type"].startswith("text/plain")
        assert call.headers["X-Kannel-From"] == PHONE
        assert call.headers["X-Kannel-To"] == SERVICE


@pytest.mark.kannel
async def test_cyrillic_mo_arrives_as_utf8_and_the_reply_as_ucs2(running: Running) -> None:
    """A UCS-2 MO reaches the URL recoded to UTF-8; a reply with X-Kannel-Coding: 2 is UCS-2."""
    await running.phone.send_mo(PHONE, SERVICE, "Код доступа")

    reply = await running.phone.wait_for_mt(_to_phone)
    assert (reply.kind, reply.text) == ("ucs-2", "Reply to Код доступа")
    [call] = running.stub.mo
    assert (call.query["text"], call.query["coding"]) == ("Код доступа", "0")


@pytest.mark.kannel
async def test_empty_answer_sends_nothing_and_5xx_sends_an_apology(running: Running) -> None:
    """omit-empty works; a 5xx makes Kannel itself answer the subscriber (never answer 5xx)."""
    await running.phone.send_mo(PHONE, SERVICE, "EMPTY")
    await running.phone.send_mo(PHONE, SERVICE, "FAIL")
    await running.phone.send_mo(PHONE, SERVICE, "ping")

    await running.phone.wait_for_mt(lambda m: m.text == "Reply to ping")
    await running.phone.wait_for_mt(lambda m: m.text == "Could not fetch content, sorry.")
    assert [c.query["text"] for c in running.stub.mo] == ["EMPTY", "FAIL", "ping"]
    assert len(running.phone.received) == 2, [m.raw for m in running.phone.received]


@pytest.mark.kannel
@pytest.mark.parametrize(
    ("text", "coding", "kind"),
    [("Ваш код: 482913", 2, "ucs-2"), ("Your code: 482913", 0, "text")],
)
async def test_sendsms_reaches_the_subscriber(
    running: Running, text: str, coding: int, kind: str
) -> None:
    """cgi-bin/sendsms with charset=UTF-8: Cyrillic with coding=2 arrives intact as UCS-2."""
    status, body = await running.kannel.sendsms(to=PHONE, sender=SERVICE, text=text, coding=coding)
    assert (status, body) == (202, "0: Accepted for delivery")

    mt = await running.phone.wait_for_mt(_to_phone)
    assert (mt.kind, mt.text) == (kind, text)
    assert running.stub.mo == []


@pytest.mark.kannel
async def test_sendsms_rejects_bad_credentials_and_a_missing_sender(running: Running) -> None:
    """403 for a wrong password; 400 without ``from`` (no global-sender configured)."""
    kannel = running.kannel
    config = kannel.config
    wrong = {"username": config.username, "password": "wrong"}
    status, _ = await kannel.sendsms(to=PHONE, sender=SERVICE, text="x", extra=wrong)
    assert status == 403
    assert await kannel.sendsms(to=PHONE, text="x") == (
        400,
        "Sender missing and no global set, rejected",
    )


@pytest.mark.kannel
async def test_sendsms_delivery_reports(running: Running) -> None:
    """With a dlr-mask the fake SMSC reports "SMSC got it" (8) and "delivered" (1)."""
    dlr_url = f"{running.stub.base_url}/dlr?ours=code-42&status=%d&phone=%p"
    status, _ = await running.kannel.sendsms(
        to=PHONE, sender=SERVICE, text="tracked", extra={"dlr-mask": "9", "dlr-url": dlr_url}
    )
    assert status == 202
    await running.phone.wait_for_mt(lambda m: m.text == "tracked")

    async with asyncio.timeout(10), running.stub.dlr_arrived:
        await running.stub.dlr_arrived.wait_for(lambda: len(running.stub.dlr) >= 2)
    reports = running.stub.dlr
    assert sorted(r["status"] for r in reports) == ["1", "8"]
    assert {(r["ours"], r["phone"]) for r in reports} == {("code-42", PHONE)}


def test_fakesmsc_lines_parse() -> None:
    """The exact lines fakesmsc printed here, decoded."""
    text = SmscMessage.parse(1, b"141 +375291234567 text Reply to KOD hello")
    assert (text.sender, text.receiver, text.kind, text.text) == (
        "141",
        "+375291234567",
        "text",
        "Reply to KOD hello",
    )
    ucs2 = SmscMessage.parse(2, b"141 +375291234567 ucs-2 %04%1A%04%3E%044%00+%001%002%003")
    assert ucs2.text == "Код 123"
    part = SmscMessage.parse(3, b"141 +375291234567 udh %05%00%03%08%02%01 data %04%16%04%16")
    assert (part.kind, part.part, part.text_as(2)) == ("udh", (8, 2, 1), "ЖЖ")


def test_missing_kannel_skips_locally_and_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    """require_kannel(): a skip on a developer's machine, a failure under CI=true."""
    import harness

    monkeypatch.setattr(harness, "find_kannel", lambda: None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install kannel kannel-extras"):
        require_kannel()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        require_kannel()
