"""A menu's back-end calls against a real HTTP back-end that misbehaves on request.

The gateway runs on a loopback port with a small YAML menu (``*150#``: read a balance, then
order a top-up) whose back-end is an aiohttp app of this module: it answers, refuses,
fails, answers late or not at all, as each test sets it, and records every request it got.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sqlite3
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from support import OPEN_EN, OPEN_RU, SECRETS, FakeClock, read_log

from simulators.dialects import Op
from simulators.handset import Handset
from state.sqlite import SqliteStore
from ussd_gateway.app import create_app
from ussd_gateway.config import BackendSettings, Secret, Settings
from ussd_gateway.menus.check.files import shipped_common_path

TOKEN = "back-end-token-for-tests"

MENU = """
service:
  code: "*150#"
  title: {ru: "Баланс", en: "Balance"}
calls:
  read_balance:
    backend: bank
    path: "/accounts/{msisdn}"
    save: {balance: balance}
  top_up:
    backend: bank
    method: POST
    path: "/accounts/{msisdn}/top-ups"
    body: {amount: "{amount}", note: "USSD {lang}"}
    save: {balance: balance}
guards:
  low: "balance < 5"
  over_limit: "refusal == 'over_limit'"
machine:
  name: bank
  states:
    start:
      initial: true
      transitions:
        - {target: shown, on: read_balance}
    shown:
      transitions:
        - {event: amount, target: topped_check, on: top_up}
    topped_check:
      transitions:
        - {cond: call_refused and over_limit, target: refused}
        - {cond: low, target: still_low}
        - {target: topped}
    refused: {final: true}
    still_low: {final: true}
    topped: {final: true}
screens:
  shown:
    text: {ru: "Баланс {balance}. Сумма:", en: "Balance {balance}. Amount:"}
    input: {event: amount, pattern: "^[0-9]{1,3}$", save_as: amount}
  refused:
    text: {ru: "Сверх лимита.", en: "Over the limit."}
  still_low:
    text: {ru: "Мало: {balance}.", en: "Still low: {balance}."}
  topped:
    text: {ru: "Баланс {balance}.", en: "Balance {balance}."}
"""


@dataclass
class Bank:
    """The back-end's behaviour (set by a test) and what it received."""

    balance: float = 3.5
    delay: float = 0.0
    status: int = 200
    body: str | None = None
    """A raw body instead of the JSON answer (malformed JSON)."""
    refuse: str | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    applied: list[str] = field(default_factory=list)
    """Top-ups whose answer was sent: what the back-end did."""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/accounts/{msisdn}", self._read)
        app.router.add_post("/accounts/{msisdn}/top-ups", self._top_up)
        return app

    def _record(self, request: web.Request, body: Any = None) -> None:
        self.requests.append(
            {
                "method": request.method,
                "path": request.path,
                "authorization": request.headers.get("Authorization"),
                "key": request.headers.get("Idempotency-Key"),
                "body": body,
            }
        )

    async def _answer(self, payload: dict[str, Any]) -> web.Response:
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.body is not None:
            return web.Response(status=self.status, text=self.body)
        if self.refuse is not None:
            return web.json_response({"reason": self.refuse}, status=409)
        return web.json_response(payload, status=self.status)

    async def _read(self, request: web.Request) -> web.Response:
        self._record(request)
        return await self._answer({"balance": self.balance})

    async def _top_up(self, request: web.Request) -> web.Response:
        body = await request.json()
        self._record(request, body)
        if self.status == 200 and self.body is None and self.refuse is None:
            self.applied.append(str(body["amount"]))  # done here; the answer may be late
        return await self._answer({"balance": self.balance + float(body["amount"])})


@pytest.fixture
async def bank() -> AsyncIterator[tuple[Bank, TestServer]]:
    state = Bank()
    server = TestServer(state.app(), host="127.0.0.1")
    await server.start_server()
    yield state, server
    await server.close()


def _settings(settings: Settings, tmp_path: Path, url: str, **backend: Any) -> Settings:
    menu = tmp_path / "bank.yaml"
    menu.write_text(MENU, encoding="utf-8")
    options = {"token": Secret(TOKEN), "timeout": 1.0, **backend}
    return replace(
        settings,
        menu_paths=(shipped_common_path(), menu),
        backends={"bank": BackendSettings(url=url, **options)},
        hop_budget=1.0,
    )


@pytest.fixture
async def gateway_url(
    settings: Settings,
    store: SqliteStore,
    clock: FakeClock,
    bank: tuple[Bank, TestServer],
    tmp_path: Path,
) -> AsyncIterator[str]:
    """The gateway with the bank as back-end ``bank``."""
    _, server = bank
    configured = _settings(settings, tmp_path, str(server.make_url("")))
    gateway = TestServer(create_app(configured, clock=clock), host="127.0.0.1")
    await gateway.start_server()
    yield str(gateway.make_url("")).rstrip("/")
    await gateway.close()


@pytest.fixture
def phone(gateway_url: str, http: aiohttp.ClientSession) -> Handset:
    return Handset(http, url=gateway_url, msisdn=OPEN_RU.msisdn, dialect="native",
                   secret=SECRETS["native"])  # fmt: skip


async def test_values_flow_from_the_back_end_to_the_screen_and_back(
    phone: Handset, bank: tuple[Bank, TestServer]
) -> None:
    """The balance is read and shown; the typed amount is sent as a typed JSON value, with
    the credential and an idempotency key; the answer's balance ends the dialogue."""
    state, _ = bank
    assert (await phone.dial("*150#")).text == "Баланс 3.50. Сумма:"
    screen = await phone.send("10")
    assert (screen.text, screen.ends) == ("Баланс 13.50.", True)
    read, top_up = state.requests
    assert read["path"] == f"/accounts/{OPEN_RU.msisdn}" and read["key"] is None
    assert top_up["body"] == {"amount": "10", "note": "USSD ru"}
    assert {r["authorization"] for r in state.requests} == {f"Bearer {TOKEN}"}
    assert top_up["key"] is not None and len(top_up["key"]) == 32


async def test_a_refusal_is_a_branch_of_the_menu(
    phone: Handset, bank: tuple[Bank, TestServer]
) -> None:
    """A 409 with a reason code is a business answer the menu's guards read."""
    state, _ = bank
    await phone.dial("*150#")
    state.refuse = "over_limit"
    assert (await phone.send("900")).text == "Сверх лимита."


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 503},
        {"status": 200, "body": "{not json"},
        {"status": 200, "body": '{"saldo": 1}'},
        {"status": 401, "body": '{"reason": "unauthorized"}'},
        {"delay": 3.0},
    ],
    ids=["5xx", "malformed", "field_missing", "our_credential", "too_slow"],
)
async def test_a_failing_back_end_ends_with_an_apology_in_time(
    phone: Handset, bank: tuple[Bank, TestServer], fault: dict[str, Any]
) -> None:
    """A 5xx, a body that is not the JSON the menu reads, a 401 (no business answer), or no
    answer within the hop's 1 s budget: the subscriber gets the apology END in well under
    the USSD centre's timeout, never a hung session or a 5xx."""
    state, _ = bank
    for name, value in fault.items():
        setattr(state, name, value)
    started = time.monotonic()
    screen = await phone.dial("*150#")
    assert time.monotonic() - started < 2.0
    assert (screen.text, screen.ends) == (
        "Извините, сервис сейчас не отвечает. Попробуйте позже.",
        True,
    )


async def test_an_answer_after_the_budget_is_not_applied(
    phone: Handset, bank: tuple[Bank, TestServer], store: SqliteStore
) -> None:
    """The top-up answers after the hop's budget: the subscriber got the apology, the
    session ended keeping nothing, and no screen ever shows the late balance."""
    state, _ = bank
    await phone.dial("*150#")
    state.delay = 1.5
    screen = await phone.send("10")
    assert screen.ends and screen.text.startswith("Извините")
    assert state.applied == ["10"]  # it did the work, but its answer came too late
    [session] = [s for s in await _sessions(store) if s["msisdn"] == OPEN_RU.msisdn]
    assert session["end_reason"] == "backend_unavailable"
    assert json.loads(session["data"]) == {}


async def test_connection_refused_is_an_apology(
    settings: Settings,
    store: SqliteStore,
    clock: FakeClock,
    tmp_path: Path,
    http: aiohttp.ClientSession,
) -> None:
    """No back-end listening at all."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    configured = _settings(settings, tmp_path, f"http://127.0.0.1:{port}")
    gateway = TestServer(create_app(configured, clock=clock), host="127.0.0.1")
    await gateway.start_server()
    try:
        phone = Handset(http, url=str(gateway.make_url("")), msisdn=OPEN_EN.msisdn,
                        dialect="native", secret=SECRETS["native"])  # fmt: skip
        screen = await phone.dial("*150#")
    finally:
        await gateway.close()
    assert (screen.text, screen.ends) == (
        "Sorry, the service is not responding. Please try again later.",
        True,
    )


async def test_a_repeated_hop_never_repeats_a_call(
    phone: Handset,
    bank: tuple[Bank, TestServer],
    http: aiohttp.ClientSession,
    gateway_url: str,
) -> None:
    """The same hop sent twice while its call is under way (a USSD centre's resend): one
    call reaches the back-end, both get the one answer."""
    state, _ = bank
    await phone.dial("*150#")
    state.delay = 0.3
    assert phone.state is not None
    request = phone.codec.request(phone.state, Op.CONTINUE, "10", secret=SECRETS["native"])
    assert request is not None

    async def send() -> str:
        async with http.request(request.method, gateway_url + request.path,
                                data=request.body, headers=dict(request.headers)) as response:  # fmt: skip
            return await response.text()

    first, second = await asyncio.gather(send(), send())
    assert first == second
    assert [r["method"] for r in state.requests] == ["GET", "POST"]
    assert state.applied == ["10"]


async def test_the_circuit_opens_after_failures_and_calls_fail_fast(
    phone: Handset, bank: tuple[Bank, TestServer]
) -> None:
    """Five failures in a row open the breaker: the sixth dial gets the apology without a
    request reaching the back-end."""
    state, _ = bank
    state.status = 503
    for _ in range(5):
        await phone.dial("*150#")
    assert len(state.requests) == 5
    screen = await phone.dial("*150#")
    assert screen.ends and len(state.requests) == 5


async def test_one_log_line_per_call_without_values_or_credential(
    phone: Handset, bank: tuple[Bank, TestServer]
) -> None:
    """backend, call, method, the path template, status, outcome: no number, no typed
    amount, no token."""
    seen = len(read_log())
    await phone.dial("*150#")
    await phone.send("42")
    lines = [line for line in read_log()[seen:] if line.get("event") == "backend_call"]
    assert [(x["call"], x["outcome"], x["path"]) for x in lines] == [
        ("read_balance", "ok", "/accounts/{msisdn}"),
        ("top_up", "ok", "/accounts/{msisdn}/top-ups"),
    ]
    text = json.dumps(lines)
    assert OPEN_RU.msisdn not in text and TOKEN not in text and '"42"' not in text


async def _sessions(store: SqliteStore) -> list[dict[str, Any]]:
    with sqlite3.connect(store.path) as db:
        db.row_factory = sqlite3.Row
        return [dict(row) for row in db.execute("SELECT * FROM ussd_sessions")]
