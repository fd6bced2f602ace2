"""ussd-smsc: takes MT the way Kannel's sendsms does, records and shows each, reports
delivery to the dlr-url, and sends MO in Kannel's get-url form."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from support import OPEN_RU, FakeClock

from simulators.smsc import ACCEPTED, FakeSmsc, expand_dlr_url, send_mo
from sms.outbox import OutboxWorker
from sms.senders import KannelSender
from state.credentials import Pepper, Sealer
from state.models import ChangeSet, OutboxMessage
from state.sqlite import SqliteStore
from ussd_gateway.config import Secret, Settings, SmsSettings
from ussd_gateway.http.appkeys import SETTINGS, STORE
from ussd_gateway.http.sms_dlr import add_dlr_routes

TOKEN = "smsc-test-token"


@pytest.fixture
async def smsc(tmp_path: Path) -> AsyncIterator[FakeSmsc]:
    """The simulator in process on a free port, recording to a file."""
    fake = FakeSmsc(
        username="tester",
        password="testpw",
        record=tmp_path / "mt.jsonl",
        dlr_delay=0.01,
        out=io.StringIO(),
    )
    await fake.start("127.0.0.1", 0)
    yield fake
    await fake.stop()


def sender_for(http: aiohttp.ClientSession, smsc: FakeSmsc, **kwargs: object) -> KannelSender:
    options: dict[str, object] = {
        "url": smsc.url + "/cgi-bin/sendsms",
        "username": "tester",
        "password": "testpw",
        "sender_id": "A1",
        **kwargs,
    }
    return KannelSender(http, **options)  # type: ignore[arg-type]


async def test_accepts_records_and_shows_an_mt(smsc: FakeSmsc, http: aiohttp.ClientSession) -> None:
    """The gateway's Kannel sender is accepted; the MT is recorded and printed whole."""
    result = await sender_for(http, smsc).send(OPEN_RU.msisdn, "Код: 123456", message_id=1)
    assert result.accepted and result.detail == f"http 202: {ACCEPTED}"
    (entry,) = smsc.messages
    assert {k: entry[k] for k in ("from", "to", "text", "coding", "encoding", "segments")} == {
        "from": "A1",
        "to": "+" + OPEN_RU.msisdn,
        "text": "Код: 123456",
        "coding": 2,
        "encoding": "ucs2",
        "segments": 1,
    }
    assert smsc.record is not None
    recorded = [json.loads(ln) for ln in smsc.record.read_text(encoding="utf-8").splitlines()]
    assert recorded == [entry]
    assert isinstance(smsc.out, io.StringIO)
    assert f"MT #1 to +{OPEN_RU.msisdn} from A1 [ucs2, 1 SMS]: Код: 123456" in smsc.out.getvalue()


async def test_refuses_like_kannel(smsc: FakeSmsc, http: aiohttp.ClientSession) -> None:
    """Wrong credentials 403, no receiver or a bad coding 400; nothing recorded."""
    wrong = await sender_for(http, smsc, password="nope").send("1", "x", message_id=1)
    assert (wrong.accepted, wrong.retryable) == (False, False)
    assert wrong.detail == "http 403: Authorization failed for sendsms"
    base = {"username": "tester", "password": "testpw", "text": "x"}
    async with http.get(smsc.url + "/cgi-bin/sendsms", params=base) as r:
        assert r.status == 400
    async with http.get(
        smsc.url + "/cgi-bin/sendsms", params={**base, "to": "+1", "coding": "7"}
    ) as r:
        assert r.status == 400
    assert smsc.messages == []


def test_dlr_url_escapes() -> None:
    """%d is the report type; %p/%P the numbers; %% a percent; others are left alone."""
    entry = {"to": "+375291112233", "from": "A1"}
    url = "http://gw/sms/dlr?id=5&status=%d&to=%p&from=%P&x=%%&y=%Z"
    assert expand_dlr_url(url, 1, entry) == (
        "http://gw/sms/dlr?id=5&status=1&to=+375291112233&from=A1&x=%&y=%Z"
    )


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """``app`` on a free loopback port; its base URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


def mo_endpoint(handler: web.RequestHandler) -> web.Application:
    """A stand-in for the gateway's ``GET /sms/mo``."""
    app = web.Application()
    app.router.add_get("/sms/mo", handler)
    return app


@pytest.fixture
async def dlr_endpoint(store: SqliteStore, clock: FakeClock) -> AsyncIterator[str]:
    """The gateway's ``/sms/dlr`` alone on a loopback port."""
    app = web.Application()
    app[SETTINGS] = Settings(sms=SmsSettings(mo_secret=Secret(TOKEN)))
    app[STORE] = store
    add_dlr_routes(app, clock=clock)
    async with serving(app) as url:
        yield url + "/sms/dlr"


async def test_outbox_to_smsc_to_delivery_report(
    smsc: FakeSmsc,
    http: aiohttp.ClientSession,
    store: SqliteStore,
    pepper: Pepper,
    clock: FakeClock,
    dlr_endpoint: str,
) -> None:
    """Worker → Kannel sender → simulator (accepted) → dlr-url with status 1 → the row is
    marked delivered."""
    await store.commit(ChangeSet(outbox=(OutboxMessage(OPEN_RU.msisdn, "t", "Hi", clock()),)))
    sender = sender_for(http, smsc, dlr_url=dlr_endpoint, dlr_token=TOKEN)
    worker = OutboxWorker(store, sender, Sealer(pepper), clock=clock, max_segments=3)
    assert await worker.run_once() == 1
    assert smsc.messages[0]["dlr_mask"] == 31
    for _ in range(300):
        if smsc.dlr_results:
            break
        await asyncio.sleep(0.01)
    assert smsc.dlr_results == [(1, 200)]
    (row,) = await store.outbox(OPEN_RU.msisdn)
    assert (row.status, row.delivery) == ("sent", "delivered")


async def test_send_mo_speaks_kannel_get_url(http: aiohttp.ClientSession) -> None:
    """from, to, text, coding, charset and the token as a query; the body comes back."""
    seen: list[dict[str, str]] = []

    async def mo(request: web.Request) -> web.Response:
        seen.append(dict(request.query))
        return web.Response(text="Ваш код: 654321")

    async with serving(mo_endpoint(mo)) as gateway:
        status, body = await send_mo(
            http, gateway + "/", sender="+375291112233", text="КОД", token=TOKEN
        )
    assert (status, body) == (200, "Ваш код: 654321")
    (query,) = seen
    assert {k: query[k] for k in ("from", "to", "text", "coding", "charset", "token")} == {
        "from": "+375291112233",
        "to": "141",
        "text": "КОД",
        "coding": "2",
        "charset": "UTF-8",
        "token": TOKEN,
    }
    assert query["smsc"] and query["id"]


# --- the console script ------------------------------------------------------------------


def _command() -> list[str]:
    script = Path(sys.executable).with_name("ussd-smsc")
    return [str(script)] if script.exists() else [sys.executable, "-m", "simulators.smsc"]


async def test_console_script_serves_and_records(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """``ussd-smsc --port 0 --record FILE`` prints its URL, takes an MT, prints and
    records it, and exits 0 on SIGTERM."""
    record = tmp_path / "dev" / "mt.jsonl"
    proc = await asyncio.create_subprocess_exec(
        *_command(),
        "--port",
        "0",
        "--record",
        str(record),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    try:
        first = (await asyncio.wait_for(proc.stdout.readline(), 15)).decode()
        assert first.startswith("ussd-smsc: sendsms on http://127.0.0.1:")
        url = first.split(" on ", 1)[1].strip()
        sender = KannelSender(http, url=url, username="tester", password="testpw", sender_id="A1")
        assert (await sender.send(OPEN_RU.msisdn, "Code 246810", message_id=9)).accepted
        shown = (await asyncio.wait_for(proc.stdout.readline(), 5)).decode()
        assert shown.strip() == f"MT #1 to +{OPEN_RU.msisdn} from A1 [gsm7, 1 SMS]: Code 246810"
        (entry,) = [json.loads(ln) for ln in record.read_text(encoding="utf-8").splitlines()]
        assert entry["text"] == "Code 246810"
    finally:
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(proc.wait(), 10)
    assert code == 0


async def test_console_script_mo_prints_the_reply(tmp_path: Path) -> None:
    """``ussd-smsc mo --gateway URL --from N TEXT`` prints the reply body; the token may
    come from the environment; a non-200 answer exits 1."""
    seen: list[dict[str, str]] = []

    async def mo(request: web.Request) -> web.Response:
        seen.append(dict(request.query))
        if request.query.get("token") != TOKEN:
            return web.Response(status=401, text="no")
        return web.Response(text="Помощь: *141*0#")

    env = {**os.environ, "USSD_GATEWAY_SMS_MO_SECRET": TOKEN}
    async with serving(mo_endpoint(mo)) as gateway:
        ok = await asyncio.create_subprocess_exec(
            *_command(),
            "mo",
            "--gateway",
            gateway,
            "--from",
            "+375291112233",
            "ПОМОЩЬ",
            "мне",
            stdout=asyncio.subprocess.PIPE,
            env=env,
        )
        out, _ = await asyncio.wait_for(ok.communicate(), 15)
        env.pop("USSD_GATEWAY_SMS_MO_SECRET")
        refused = await asyncio.create_subprocess_exec(
            *_command(),
            "mo",
            "--gateway",
            gateway,
            "--from",
            "+375291112233",
            "HELP",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )
        _, err = await asyncio.wait_for(refused.communicate(), 15)
    assert (ok.returncode, out.decode().strip()) == (0, "Помощь: *141*0#")
    assert seen[0]["text"] == "ПОМОЩЬ мне" and seen[0]["from"] == "+375291112233"
    assert refused.returncode == 1 and b"HTTP 401" in err


async def test_lists_what_it_received_by_number(
    smsc: FakeSmsc, http: aiohttp.ClientSession
) -> None:
    """GET /messages?to= lists one subscriber's MTs, the number matched by its digits."""
    sender = sender_for(http, smsc)
    await sender.send(OPEN_RU.msisdn, "Код: 123456", message_id=1)
    await sender.send("375330000000", "someone else's", message_id=2)
    async with http.get(smsc.url + "/messages", params={"to": "+375 29 111-22-33"}) as r:
        assert r.status == 200
        mine = (await r.json())["messages"]
    assert [m["text"] for m in mine] == ["Код: 123456"] and mine[0]["to"] == "+" + OPEN_RU.msisdn
    async with http.get(smsc.url + "/messages") as r:
        assert [m["n"] for m in (await r.json())["messages"]] == [1, 2]
