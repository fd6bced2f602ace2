"""Each sender against a tiny HTTP server on loopback: the exact fields it sends, how each
reply is read, and that neither the text nor the password leaks into a detail or the log.

Also the other half of the senders' contract: the delivery-report URL they hand out is
what ``/sms/dlr`` understands, for Kannel (our id in the URL) and Jasmin (its uuid).
"""

from __future__ import annotations

import asyncio
import json
import stat
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from support import LOG_PATH, OPEN_EN, OPEN_RU, FakeClock

from simulators.process import free_port
from sms.outbox import OutboxWorker
from sms.senders import FileSender, JasminSender, KannelSender, SendResult, build_sender
from state.credentials import Pepper, Sealer
from state.models import ChangeSet, OutboxMessage
from state.sqlite import SqliteStore
from ussd_gateway.config import Secret, Settings, SmsSettings
from ussd_gateway.http.appkeys import SETTINGS, STORE
from ussd_gateway.http.sms_dlr import add_dlr_routes

PASSWORD = "kannel-pw-7Hq2"
TOKEN = "dlr-token-x9"
JASMIN_UUID = "07033084-5cfd-4812-90a4-e4d24ffb6e3d"


@dataclass
class Seen:
    """One request the fake provider received."""

    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    raw_path: str
    """As sent on the wire, still percent-encoded."""


@dataclass
class FakeProvider:
    """A loopback HTTP server answering every request with ``status``/``body``."""

    status: int = 202
    body: str = "0: Accepted for delivery"
    delay: float = 0.0
    echo: bool = False
    seen: list[Seen] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        self.seen.append(
            Seen(request.method, request.path, dict(request.query), form, request.raw_path)
        )
        if self.delay:
            await asyncio.sleep(self.delay)
        body = self.body
        if self.echo:  # a provider that quotes the request back in its error
            fields = {**request.query, **form}
            body += f" text={fields.get('text') or fields.get('content')}"
            body += f" password={fields.get('password')}"
        return web.Response(status=self.status, text=body)


@pytest.fixture
async def provider() -> AsyncIterator[FakeProvider]:
    """A fake Kannel/Jasmin on a free loopback port (no access log: it would log texts)."""
    fake = FakeProvider()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", fake.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    fake.url = f"http://{host}:{port}"
    yield fake
    await runner.cleanup()


def kannel(http: aiohttp.ClientSession, url: str, **kwargs: object) -> KannelSender:
    options: dict[str, object] = {
        "url": url + "/cgi-bin/sendsms",
        "username": "gateway",
        "password": PASSWORD,
        "sender_id": "A1",
        **kwargs,
    }
    return KannelSender(http, **options)  # type: ignore[arg-type]


def jasmin(http: aiohttp.ClientSession, url: str, **kwargs: object) -> JasminSender:
    options: dict[str, object] = {
        "url": url + "/send",
        "username": "gw",
        "password": PASSWORD,
        "sender_id": "A1",
        **kwargs,
    }
    return JasminSender(http, **options)  # type: ignore[arg-type]


# --- Kannel ----------------------------------------------------------------------------------


async def test_kannel_sends_exact_fields_for_gsm7(
    provider: FakeProvider, http: aiohttp.ClientSession
) -> None:
    """GET cgi-bin/sendsms: credentials, from, +to, text as UTF-8, coding 0, no DLR asked."""
    result = await kannel(http, provider.url).send(
        OPEN_RU.msisdn, "Your code: 123456", message_id=7
    )
    assert result == SendResult(True, None, False, "http 202: 0: Accepted for delivery")
    (req,) = provider.seen
    assert (req.method, req.path) == ("GET", "/cgi-bin/sendsms")
    assert req.query == {
        "username": "gateway",
        "password": PASSWORD,
        "from": "A1",
        "to": "+" + OPEN_RU.msisdn,
        "text": "Your code: 123456",
        "charset": "UTF-8",
        "coding": "0",
    }
    assert "to=%2B375" in req.raw_path  # the plus is encoded, not a space


async def test_kannel_sends_ucs2_and_asks_for_reports(
    provider: FakeProvider, http: aiohttp.ClientSession
) -> None:
    """Cyrillic: coding 2; with a DLR URL: dlr-mask 31 and our id, %d and the token."""
    provider.body = "3: Queued for later delivery"
    sender = kannel(http, provider.url, dlr_url="http://gw:8080/sms/dlr", dlr_token=TOKEN)
    result = await sender.send(OPEN_RU.msisdn, "Код: 123456", message_id=42)
    assert result.accepted and not result.retryable
    (req,) = provider.seen
    assert req.query["text"] == "Код: 123456"
    assert req.query["coding"] == "2"
    assert req.query["dlr-mask"] == "31"
    assert req.query["dlr-url"] == f"http://gw:8080/sms/dlr?id=42&status=%d&token={TOKEN}"
    assert "status%3D%25d" in req.raw_path  # %d reaches Kannel as %d


def test_kannel_dlr_url_joins_an_existing_query() -> None:
    """A DLR URL that already has a query gets ours after '&'."""
    sender = KannelSender(
        None,  # type: ignore[arg-type]
        url="http://k/cgi-bin/sendsms",
        username="u",
        password="p",
        sender_id="A1",
        dlr_url="http://gw/sms/dlr?x=1",
    )
    assert sender.dlr_url_for(5) == "http://gw/sms/dlr?x=1&id=5&status=%d"


@pytest.mark.parametrize(
    ("status", "body", "accepted", "retryable"),
    [
        (202, "0: Accepted for delivery", True, False),
        (202, "3: Queued for later delivery", True, False),
        (200, "0: Accepted for delivery", True, False),
        (202, "Something else", False, False),
        (403, "Authorization failed for sendsms", False, False),
        (400, "Missing receiver number for SMS", False, False),
        (404, "Not found", False, False),
        (302, "", False, False),
        (500, "Internal error", False, True),
        (503, "Message rejected by bearerbox, no router available", False, True),
    ],
)
async def test_kannel_status_mapping(
    provider: FakeProvider,
    http: aiohttp.ClientSession,
    status: int,
    body: str,
    accepted: bool,
    retryable: bool,
) -> None:
    """2xx with 0:/3: accepted; other 4xx and odd 2xx final; 5xx retried."""
    provider.status, provider.body = status, body
    result = await kannel(http, provider.url).send(OPEN_RU.msisdn, "hello", message_id=1)
    assert (result.accepted, result.retryable) == (accepted, retryable)
    assert result.detail.startswith(f"http {status}")


async def test_kannel_connection_refused_and_timeout_are_retried(
    provider: FakeProvider, http: aiohttp.ClientSession
) -> None:
    """Nobody listening, or no answer in time: retry later; the detail names no URL."""
    refused = await kannel(http, f"http://127.0.0.1:{free_port()}").send(
        OPEN_RU.msisdn, "hello", message_id=1
    )
    assert (refused.accepted, refused.retryable) == (False, True)
    assert refused.detail.startswith("connection: ")
    assert PASSWORD not in refused.detail and "127.0.0.1" not in refused.detail
    provider.delay = 1.0
    slow = await kannel(http, provider.url, timeout=0.1).send(OPEN_RU.msisdn, "hello", message_id=1)
    assert slow == SendResult(False, None, True, "timeout")


async def test_kannel_never_leaks_text_or_password(
    provider: FakeProvider,
    http: aiohttp.ClientSession,
    store: SqliteStore,
    pepper: Pepper,
    clock: FakeClock,
) -> None:
    """A provider that echoes the request: the detail, the stored result and the log line
    hold neither the text nor the password."""
    text = "Код подтверждения 864209"
    provider.status, provider.body, provider.echo = 400, "Bad request", True
    await store.commit(ChangeSet(outbox=(OutboxMessage(OPEN_EN.msisdn, "leak", text, clock()),)))
    worker = OutboxWorker(
        store, kannel(http, provider.url), Sealer(pepper), clock=clock, max_segments=3
    )
    assert await worker.run_once() == 1
    (row,) = await store.outbox(OPEN_EN.msisdn)
    assert row.status == "failed" and row.result is not None
    assert row.result.startswith("rejected: http 400: Bad request")
    assert text not in row.result and PASSWORD not in row.result
    assert "[hidden]" in row.result
    log_text = LOG_PATH.read_text(encoding="utf-8")
    assert f'"message_id": {row.id}' in log_text
    assert text not in log_text and PASSWORD not in log_text


# --- Jasmin ----------------------------------------------------------------------------------


async def test_jasmin_posts_exact_fields_for_ascii(
    provider: FakeProvider, http: aiohttp.ClientSession
) -> None:
    """POST /send as a form (no password in the URL); plain ASCII goes as content, coding 0."""
    provider.status, provider.body = 200, f'Success "{JASMIN_UUID}"'
    result = await jasmin(http, provider.url).send(OPEN_RU.msisdn, "Code 123456", message_id=3)
    assert result.accepted and result.provider_ref == JASMIN_UUID
    (req,) = provider.seen
    assert (req.method, req.raw_path) == ("POST", "/send")
    assert req.form == {
        "username": "gw",
        "password": PASSWORD,
        "to": OPEN_RU.msisdn,
        "from": "A1",
        "content": "Code 123456",
        "coding": "0",
        "dlr": "no",
    }


async def test_jasmin_sends_ucs2_as_hex_and_asks_for_reports(
    provider: FakeProvider, http: aiohttp.ClientSession
) -> None:
    """Jasmin does not recode: Cyrillic goes as UTF-16BE hex-content with coding 8."""
    provider.status, provider.body = 200, f'Success "{JASMIN_UUID}"'
    sender = jasmin(http, provider.url, dlr_url="http://gw:8080/sms/dlr", dlr_token=TOKEN)
    result = await sender.send(OPEN_RU.msisdn, "Код: 123456", message_id=3)
    assert result.provider_ref == JASMIN_UUID
    (req,) = provider.seen
    assert "content" not in req.form
    assert bytes.fromhex(req.form["hex-content"]).decode("utf-16-be") == "Код: 123456"
    assert req.form["coding"] == "8"
    assert req.form["dlr"] == "yes"
    assert req.form["dlr-url"] == f"http://gw:8080/sms/dlr?token={TOKEN}"
    assert req.form["dlr-level"] == "3"
    assert req.form["dlr-method"] == "POST"


@pytest.mark.parametrize(
    ("status", "body", "accepted", "retryable"),
    [
        (200, f'Success "{JASMIN_UUID}"', True, False),
        (200, "Something else", False, False),
        (400, 'Error "Mandatory argument [to] is not found."', False, False),
        (403, 'Error "Authentication failure for username:gw"', False, False),
        (412, 'Error "Cannot route message"', False, False),
        (500, 'Error "Internal"', False, True),
    ],
)
async def test_jasmin_status_mapping(
    provider: FakeProvider,
    http: aiohttp.ClientSession,
    status: int,
    body: str,
    accepted: bool,
    retryable: bool,
) -> None:
    """Success "uuid" accepted; 4xx final; 5xx retried."""
    provider.status, provider.body = status, body
    result = await jasmin(http, provider.url).send(OPEN_RU.msisdn, "hello", message_id=1)
    assert (result.accepted, result.retryable) == (accepted, retryable)
    assert (result.provider_ref == JASMIN_UUID) is accepted


async def test_jasmin_errors_are_retried_and_hide_secrets(
    provider: FakeProvider, http: aiohttp.ClientSession
) -> None:
    """Refused connections are retried; an echoing error reply loses text and password."""
    refused = await jasmin(http, f"http://127.0.0.1:{free_port()}").send(
        OPEN_RU.msisdn, "hello", message_id=1
    )
    assert (refused.accepted, refused.retryable) == (False, True)
    provider.status, provider.body, provider.echo = 400, 'Error "bad"', True
    echoed = await jasmin(http, provider.url).send(OPEN_RU.msisdn, "secret text 55", message_id=1)
    assert "secret text 55" not in echoed.detail and PASSWORD not in echoed.detail


# --- file ------------------------------------------------------------------------------------


async def test_file_sender_appends_one_json_line_per_message(tmp_path: Path) -> None:
    """Development only: the text is written, one line per message, owner-readable file."""
    path = tmp_path / "dev" / "outbox.jsonl"
    sender = FileSender(path, sender_id="A1", clock=lambda: 1.5)
    first = await sender.send(OPEN_RU.msisdn, "Код: 111111", message_id=1)
    await sender.send(OPEN_EN.msisdn, "Code: 222222", message_id=2)
    assert first == SendResult(True, "file-1", False, "written")
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert lines == [
        {
            "id": 1,
            "at": 1.5,
            "from": "A1",
            "to": OPEN_RU.msisdn,
            "encoding": "ucs2",
            "segments": 1,
            "text": "Код: 111111",
        },
        {
            "id": 2,
            "at": 1.5,
            "from": "A1",
            "to": OPEN_EN.msisdn,
            "encoding": "gsm7",
            "segments": 1,
            "text": "Code: 222222",
        },
    ]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


async def test_file_sender_failure_is_retryable(tmp_path: Path) -> None:
    """A path that cannot be written (a directory) is a retryable failure."""
    result = await FileSender(tmp_path, sender_id="A1").send("1", "x", message_id=1)
    assert (result.accepted, result.retryable) == (False, True)


# --- choosing a sender -----------------------------------------------------------------------


async def test_build_sender_follows_the_settings(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """file / kannel / jasmin from SmsSettings; secrets revealed only into the sender."""
    assert isinstance(build_sender(SmsSettings(outbox_file=tmp_path / "o.jsonl"), http), FileSender)
    k = build_sender(
        SmsSettings(
            sender="kannel",
            kannel_sendsms_url="http://k/cgi-bin/sendsms",
            kannel_username="u",
            kannel_password=Secret(PASSWORD),
            dlr_url="http://gw/sms/dlr",
            mo_secret=Secret(TOKEN),
        ),
        http,
    )
    assert isinstance(k, KannelSender)
    params = k.params(OPEN_RU.msisdn, "hi", message_id=9)
    assert params["password"] == PASSWORD
    assert params["dlr-url"] == f"http://gw/sms/dlr?id=9&status=%d&token={TOKEN}"
    assert PASSWORD not in repr(k)
    j = build_sender(SmsSettings(sender="jasmin", jasmin_password=Secret(PASSWORD)), http)
    assert isinstance(j, JasminSender) and PASSWORD not in repr(j)
    assert j.form(OPEN_RU.msisdn, "hi")["password"] == PASSWORD
    with pytest.raises(ValueError, match="unknown SMS sender"):
        build_sender(SmsSettings(sender="smpp"), http)


# --- delivery reports for what the senders asked ---------------------------------------------


DlrServer = Callable[..., Awaitable[str]]


@pytest.fixture
async def dlr_server(store: SqliteStore, clock: FakeClock) -> AsyncIterator[DlrServer]:
    """Start ``/sms/dlr`` alone on a loopback port, on the seeded store; its URL."""
    runners: list[web.AppRunner] = []

    async def start(*, demo: bool = False, secret: str | None = TOKEN) -> str:
        app = web.Application()
        app[SETTINGS] = Settings(
            demo=demo, sms=SmsSettings(mo_secret=Secret(secret) if secret else None)
        )
        app[STORE] = store
        add_dlr_routes(app, clock=clock)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        runners.append(runner)
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        return f"http://{host}:{port}/sms/dlr"

    yield start
    for runner in runners:
        await runner.cleanup()


@pytest.fixture
async def dlr_url(dlr_server: DlrServer) -> str:
    """``/sms/dlr`` with the callback token configured."""
    return await dlr_server()


async def _message(store: SqliteStore, clock: FakeClock) -> int:
    await store.commit(ChangeSet(outbox=(OutboxMessage(OPEN_RU.msisdn, "t", "b", clock()),)))
    return (await store.outbox(OPEN_RU.msisdn))[-1].id


@pytest.mark.parametrize(
    ("dlr_type", "delivery"),
    [(1, "delivered"), (2, "undelivered"), (4, "queued"), (8, "smsc_accepted"), (16, "rejected")],
)
async def test_kannel_dlr_url_round_trip(
    dlr_url: str,
    store: SqliteStore,
    clock: FakeClock,
    http: aiohttp.ClientSession,
    dlr_type: int,
    delivery: str,
) -> None:
    """The URL the Kannel sender hands out, with %d filled as Kannel does, updates the row."""
    message_id = await _message(store, clock)
    sender = KannelSender(
        http,
        url="http://k",
        username="u",
        password="p",
        sender_id="A1",
        dlr_url=dlr_url,
        dlr_token=TOKEN,
    )
    url = sender.dlr_url_for(message_id)
    assert url is not None
    async with http.get(url.replace("%d", str(dlr_type))) as response:
        assert (response.status, await response.text()) == (200, "OK")
    (row,) = [r for r in await store.outbox(OPEN_RU.msisdn) if r.id == message_id]
    assert row.delivery == delivery


async def test_kannel_dlr_unknown_forged_and_malformed(
    dlr_url: str, store: SqliteStore, clock: FakeClock, http: aiohttp.ClientSession
) -> None:
    """Unknown id: 200 (stops retries). Wrong or missing token: 403. Not numbers: 400."""
    async with http.get(dlr_url, params={"id": "999999", "status": "1", "token": TOKEN}) as r:
        assert (r.status, await r.text()) == (200, "OK")
    message_id = await _message(store, clock)
    for params in (
        {"id": str(message_id), "status": "1", "token": "forged"},
        {"id": str(message_id), "status": "1"},
    ):
        async with http.get(dlr_url, params=params) as r:
            assert r.status == 403
    for bad in ({"id": "x", "status": "1"}, {"id": "1", "status": ""}, {"id": "²", "status": "1"}):
        async with http.get(dlr_url, params={**bad, "token": TOKEN}) as r:
            assert r.status == 400
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with http.get(
        dlr_url, params={"id": str(message_id), "status": "2"}, headers=headers
    ) as r:
        assert r.status == 200
    rows = {r.id: r for r in await store.outbox(OPEN_RU.msisdn)}
    assert rows[message_id].delivery == "undelivered"


async def test_dlr_needs_no_token_in_demo_mode(
    dlr_server: DlrServer, store: SqliteStore, clock: FakeClock, http: aiohttp.ClientSession
) -> None:
    """Demo mode skips the token check, as for every other caller."""
    dlr_url = await dlr_server(demo=True)
    message_id = await _message(store, clock)
    async with http.get(dlr_url, params={"id": str(message_id), "status": "1"}) as r:
        assert r.status == 200


async def test_dlr_refuses_everyone_without_a_configured_secret(
    dlr_server: DlrServer, http: aiohttp.ClientSession
) -> None:
    """No mo_secret outside demo mode: nobody may report (fail closed)."""
    dlr_url = await dlr_server(secret=None)
    for token in ("", "anything"):
        async with http.get(dlr_url, params={"id": "1", "status": "1", "token": token}) as r:
            assert r.status == 403


@pytest.mark.parametrize(
    ("status", "delivery"),
    [
        ("DELIVRD", "delivered"),
        ("UNDELIV", "undelivered"),
        ("REJECTD", "rejected"),
        ("ESME_ROK", "smsc_accepted"),
        ("ESME_RINVDSTADR", "rejected"),
    ],
)
async def test_jasmin_dlr_matches_the_provider_reference(
    dlr_url: str,
    store: SqliteStore,
    clock: FakeClock,
    http: aiohttp.ClientSession,
    status: str,
    delivery: str,
) -> None:
    """Jasmin posts its uuid and status to the URL our Jasmin sender gave; it gets
    ``ACK/Jasmin`` and the row with that reference is updated."""
    message_id = await _message(store, clock)
    await store.finish_outbox(message_id, status="sent", now=clock(), provider_ref=JASMIN_UUID)
    form = jasmin(http, "http://j", dlr_url=dlr_url, dlr_token=TOKEN).form(OPEN_RU.msisdn, "x")
    data = {"id": JASMIN_UUID, "message_status": status, "level": "2"}
    async with http.post(form["dlr-url"], data=data) as r:
        assert (r.status, await r.text()) == (200, "ACK/Jasmin")
    rows = {r.id: r for r in await store.outbox(OPEN_RU.msisdn)}
    assert rows[message_id].delivery == delivery
    async with http.post(dlr_url, data=data) as r:  # no token
        assert r.status == 403
