"""Several real gateway processes on one database: instances, handsets that roam, polling.

A module of its own (not ``conftest``), like ``tests/support.py``: the scenario modules
import from it by name. ``conftest.py`` beside it turns these into fixtures.

The database is PostgreSQL (``state/postgres``) by default; ``USSD_TEST_MULTI_BACKEND=sqlite``
runs the same scenarios with every instance on one shared SQLite file (for debugging the
harness without a server; several processes may share one SQLite file too).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from pgserver import fresh_database
from support import (
    API_SECRET,
    MO_SECRET,
    PEPPER_HEX,
    SECRETS,
    SUBSCRIBERS,
    TYPED_SECRETS,
    SeededSubscriber,
    seed,
)

from simulators.dialects import HandsetState, HttpRequest, Op, Screen, SimulatorError
from simulators.handset import Handset
from simulators.process import GatewayProcess, free_port, gateway_process
from simulators.smsc import FakeSmsc
from state.backends import DatabaseLocation, open_store
from state.credentials import Pepper, Sealer
from state.models import ClosedBy
from state.store import Store

BACKEND_ENV = "USSD_TEST_MULTI_BACKEND"
KANNEL_USER = "multi"
KANNEL_PASSWORD = "multi-smsc-pw-7731"
OPERATOR_SECRET = "multi-operator-secret"
WAIT_SECONDS = 20.0
"""The longest any poll in these tests waits: far above what a healthy run needs."""

# --- the subscribers ---------------------------------------------------------------------


def _puk(msisdn: str) -> str:
    """A PUK1 per number: deterministic, 8 digits."""
    return f"{(int(msisdn[-7:]) * 2_654_435_761 + 48_271) % 10**8:08d}"


def block(
    number: int, count: int, *, closed_by: ClosedBy | None = None
) -> tuple[SeededSubscriber, ...]:
    """``count`` subscribers numbered ``37529<number><00001…>``: one block per scenario,
    so scenarios sharing a module's database never touch each other's subscribers."""
    numbers = (f"37529{number:02d}{n:05d}" for n in range(1, count + 1))
    return tuple(SeededSubscriber(m, _puk(m), closed_by=closed_by) for m in numbers)


ROAMING = block(60, 3)
"""Scenario 1: one per dialect."""
DUPLICATED = block(61, 3)
"""Scenario 2: one per dialect."""
KILL_DONE = block(62, 4)
KILL_PASSWORD = block(63, 3)
KILL_PUK = block(64, 1, closed_by=ClosedBy.SUBSCRIBER)
KILL_BURST = block(65, 8)
PUK_STORM = block(66, 1, closed_by=ClosedBy.SUBSCRIBER)
CODES = block(67, 30)
VERIFY = block(68, 1)
WEB = block(69, 1)
NGINX = block(70, 3)
"""Scenario 8: one per dialect."""
MULTI_SUBSCRIBERS = (
    *ROAMING,
    *DUPLICATED,
    *KILL_DONE,
    *KILL_PASSWORD,
    *KILL_PUK,
    *KILL_BURST,
    *PUK_STORM,
    *CODES,
    *VERIFY,
    *WEB,
    *NGINX,
)
ALL_SUBSCRIBERS = (*SUBSCRIBERS, *MULTI_SUBSCRIBERS)
SCANNED_SECRETS = frozenset(
    TYPED_SECRETS | {s.puk for s in MULTI_SUBSCRIBERS} | {KANNEL_PASSWORD, OPERATOR_SECRET}
)
"""What must never appear in an instance's log: every PUK1, password and secret typed."""

PEPPER = Pepper.from_hex(PEPPER_HEX)
SEALER = Sealer(PEPPER)
API_AUTH = {"Authorization": f"Bearer {API_SECRET}"}

# --- texts of the shipped menus ----------------------------------------------------------

MENU_OPEN = "Доступ в Личный кабинет открыт.\n1. Закрыть\n2. Открыть"
MENU_CLOSED = "Доступ в Личный кабинет закрыт.\n1. Закрыть\n2. Открыть по PUK1"
CONFIRM_CLOSE = "Закрыть доступ в Личный кабинет?\n1. Да, закрыть\n2. Нет"
CLOSED_NOW = "Доступ в Личный кабинет закрыт. Открыть: *141*3*6# и PUK1."
ASK_PUK = "Введите PUK1 вашей SIM-карты (8 цифр):"
OPENED = "Доступ в Личный кабинет открыт."
LOCKED_NOW = "Неверный PUK1. Открытие доступа заблокировано. Обратитесь в контакт-центр 150."
PUK_LOCKED = "Открытие заблокировано: 5 неверных PUK1. Обратитесь в контакт-центр 150."
ASK_PASSWORD = "Введите новый пароль (от 8 символов):"
REPEAT_PASSWORD = "Повторите новый пароль:"
PASSWORD_SET = "Пароль Личного кабинета установлен. Вход: номер телефона и новый пароль."


def wrong_puk(attempts_left: int) -> str:
    """The screen after a wrong PUK1 that did not lock."""
    return f"Неверный PUK1. Осталось попыток: {attempts_left}.\n{ASK_PUK}"


# --- the backend -------------------------------------------------------------------------


def backend() -> str:
    """``postgres`` (the default) or ``sqlite`` (``USSD_TEST_MULTI_BACKEND``)."""
    chosen = os.environ.get(BACKEND_ENV, "postgres").strip().lower()
    if chosen not in ("postgres", "sqlite"):
        raise pytest.UsageError(f"{BACKEND_ENV} must be postgres or sqlite, not {chosen!r}")
    return chosen


def require_postgres_backend() -> None:
    """Skip (fail under ``CI=true``) while ``state.postgres`` does not import."""
    try:
        import state.postgres  # noqa: F401 - asyncpg only where PostgreSQL is used
    except ModuleNotFoundError as exc:
        if exc.name != "state.postgres" or os.environ.get("CI", "").lower() == "true":
            raise
        pytest.skip(
            "state.postgres is not there yet (USSD_TEST_MULTI_BACKEND=sqlite runs "
            "these scenarios on a shared SQLite file)"
        )


@asynccontextmanager
async def empty_database(tmp_dir: Path) -> AsyncIterator[str]:
    """A new empty database of the backend under test (dropped afterwards): a PostgreSQL
    DSN from ``tests/pgserver.py``, or the path of an SQLite file in ``tmp_dir``."""
    if backend() == "sqlite":
        yield str(tmp_dir / "shared.sqlite3")
        return
    require_postgres_backend()
    async with fresh_database("ussd_multi") as dsn:
        yield dsn


async def open_seeded(database: str) -> Store:
    """Open (and migrate) the database through the gateway's own backend selection and
    seed it with the test subscribers, as ``tests/support.py`` seeds the SQLite file."""
    store = await open_store(DatabaseLocation.parse(database))
    try:
        await seed(store, PEPPER, ALL_SUBSCRIBERS)  # type: ignore[arg-type] - any Store
    except BaseException:
        await store.close()
        raise
    return store


# --- instances ---------------------------------------------------------------------------


@dataclass
class Instance:
    """One running gateway process and its own log file."""

    name: str
    gateway: GatewayProcess
    log: Path

    @property
    def url(self) -> str:
        return self.gateway.url

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    @property
    def alive(self) -> bool:
        return self.gateway.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no flushing: a crash."""
        self.gateway.kill()

    def log_lines(self) -> list[dict[str, Any]]:
        """The instance's JSON log lines so far (a line still being written is skipped)."""
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        complete = text[: text.rfind("\n") + 1]
        lines = []
        for line in complete.split("\n"):
            if line.startswith("{"):
                try:
                    lines.append(json.loads(line))
                except json.JSONDecodeError:
                    continue  # a traceback or a line cut by SIGKILL
        return lines

    def events(self, event: str) -> list[dict[str, Any]]:
        """The log lines of one event (``ussd_hop``, ``sms_send``, …)."""
        return [line for line in self.log_lines() if line.get("event") == event]

    def tail(self, lines: int = 30) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def instance_env(database: str, smsc_url: str, outbox_file: Path) -> dict[str, str]:
    """What every instance is given alike: the database, the pepper, every secret."""
    return {
        "USSD_GATEWAY_DATABASE": database,
        "USSD_GATEWAY_HOST": "127.0.0.1",
        "USSD_GATEWAY_PUK_PEPPER": PEPPER_HEX,
        **{f"USSD_GATEWAY_SECRET_{name.upper()}": value for name, value in SECRETS.items()},
        "USSD_GATEWAY_API_SECRET": API_SECRET,
        "USSD_GATEWAY_SMS_MO_SECRET": MO_SECRET,
        "USSD_GATEWAY_OPERATOR_SECRET": OPERATOR_SECRET,
        "USSD_GATEWAY_SMS_SENDER": "kannel",
        "USSD_GATEWAY_KANNEL_SENDSMS_URL": f"{smsc_url}/cgi-bin/sendsms",
        "USSD_GATEWAY_KANNEL_USERNAME": KANNEL_USER,
        "USSD_GATEWAY_KANNEL_PASSWORD": KANNEL_PASSWORD,
        "USSD_GATEWAY_OUTBOX_FILE": str(outbox_file),
        # Nothing listens here: a letter (none of these scenarios sends one) fails fast.
        "USSD_GATEWAY_SMTP_HOST": "127.0.0.1",
        "USSD_GATEWAY_SMTP_PORT": str(free_port()),
        "USSD_GATEWAY_LOG_LEVEL": "info",
    }


@asynccontextmanager
async def running_instances(
    env: Mapping[str, str], count: int, log_dir: Path, *, prefix: str = "gw"
) -> AsyncIterator[list[Instance]]:
    """Start ``count`` instances with ``env`` at once (each on its own free port, each
    logging to ``log_dir/<prefix><n>.log``); stop every one of them afterwards."""
    log_dir.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - a local directory, once
    names = [f"{prefix}{n}" for n in range(1, count + 1)]

    async def start(name: str) -> tuple[AsyncExitStack, Instance]:
        stack = AsyncExitStack()
        log = log_dir / f"{name}.log"
        gateway = await stack.enter_async_context(gateway_process(env, log=log))
        return stack, Instance(name, gateway, log)

    started = await asyncio.gather(*(start(name) for name in names), return_exceptions=True)
    stacks = [item[0] for item in started if not isinstance(item, BaseException)]
    try:
        failures = [
            (n, e) for n, e in zip(names, started, strict=True) if isinstance(e, BaseException)
        ]
        if failures:
            name, error = failures[0]
            tail = (log_dir / f"{name}.log").read_text(encoding="utf-8", errors="replace")[-3000:]
            raise RuntimeError(f"instance {name} did not start: {error}\n{tail}") from error
        instances = [item[1] for item in started if not isinstance(item, BaseException)]
        yield instances
    finally:
        # SIGTERM to all first, so they shut down side by side; then wait for each.
        for stack_item in started:
            if not isinstance(stack_item, BaseException) and stack_item[1].alive:
                stack_item[1].gateway.process.terminate()
        for stack in reversed(stacks):
            await stack.aclose()


class PacedSmsc(FakeSmsc):
    """The SMSC simulator, slow to accept when told to: ``delay`` seconds per MT, as a busy
    SMSC is (a worker that leased a batch is then busy with it for that long)."""

    delay: float = 0.0

    async def _sendsms(self, request: web.Request) -> web.Response:
        if self.delay:
            await asyncio.sleep(self.delay)
        return await super()._sendsms(request)


@dataclass
class Cluster:
    """N instances on one database, one SMSC simulator, and the test's own store on it."""

    instances: list[Instance]
    store: Store
    smsc: PacedSmsc
    env: dict[str, str]
    log_dir: Path
    extra: list[Instance] = field(default_factory=list)

    @property
    def urls(self) -> list[str]:
        return [i.url for i in self.instances]

    def all_instances(self) -> list[Instance]:
        return [*self.instances, *self.extra]

    def sms_to(self, msisdn: str) -> list[dict[str, Any]]:
        """What the SMSC simulator received for ``msisdn``."""
        return [m for m in self.smsc.messages if m["to"].lstrip("+") == msisdn]

    @asynccontextmanager
    async def more(self, count: int, *, prefix: str) -> AsyncIterator[list[Instance]]:
        """Extra instances on the same database (same pepper and secrets), stopped after."""
        async with running_instances(self.env, count, self.log_dir, prefix=prefix) as extra:
            self.extra.extend(extra)
            yield extra

    def leaked_secrets(self) -> list[str]:
        """Typed secrets found in any instance's log (must be none)."""
        found = set()
        for instance in self.all_instances():
            text = instance.log.read_text(encoding="utf-8", errors="replace")
            found |= {s for s in SCANNED_SECRETS if s in text}
        return sorted(found)


@asynccontextmanager
async def cluster(database: str, count: int, work_dir: Path) -> AsyncIterator[Cluster]:
    """A seeded database, an SMSC simulator and ``count`` instances started at once."""
    store = await open_seeded(database)
    smsc = PacedSmsc(username=KANNEL_USER, password=KANNEL_PASSWORD)
    try:
        smsc_url = await smsc.start("127.0.0.1", 0)
        env = instance_env(database, smsc_url, work_dir / "outbox-file.jsonl")
        async with running_instances(env, count, work_dir) as instances:
            yield Cluster(instances, store, smsc, env, work_dir)
    finally:
        await smsc.stop()
        await store.close()


# --- handsets ----------------------------------------------------------------------------


class RoamingHandset(Handset):
    """A handset whose USSD centre sends each hop to the next URL in turn (no stickiness),
    as a load balancer in front of the instances would, and remembers where each went.

    A hop left unanswered (the instance died) can be sent again elsewhere with
    :meth:`resend`, as a USSD centre retries a request it got no answer to."""

    def __init__(self, http: aiohttp.ClientSession, *, urls: Sequence[str], **kwargs: Any) -> None:
        super().__init__(http, url=urls[0], **kwargs)
        self.urls = list(urls)
        self._turn = 0
        self.route: list[str] = []
        """The URL each hop went to, in order."""
        self.unanswered: tuple[HandsetState, Op, str] | None = None

    def pin(self, *urls: str) -> None:
        """From now on, hops go round ``urls`` only."""
        self.urls = list(urls)
        self._turn = 0

    async def _hop(self, state: HandsetState, op: Op, text: str) -> Screen:
        self._url = self.urls[self._turn % len(self.urls)]
        self._turn += 1
        self.route.append(self._url)
        try:
            screen = await super()._hop(state, op, text)
        except SimulatorError:
            self.unanswered = (state, op, text)
            raise
        self.unanswered = None
        return screen

    async def resend(self) -> Screen:
        """Send the unanswered hop again, unchanged, to the next URL."""
        assert self.unanswered is not None, "every hop was answered"
        state, op, text = self.unanswered
        return await self._hop(state, op, text)


@dataclass(frozen=True)
class Exchange:
    """One raw HTTP answer."""

    url: str
    status: int
    content_type: str
    body: bytes


async def exchange(http: aiohttp.ClientSession, url: str, request: HttpRequest) -> Exchange:
    """Send a dialect request to one instance (bounded by a timeout)."""
    async with http.request(
        request.method,
        url.rstrip("/") + request.path,
        data=request.body,
        headers=dict(request.headers),
        timeout=aiohttp.ClientTimeout(total=10),
        allow_redirects=False,
    ) as response:
        return Exchange(url, response.status, response.content_type, await response.read())


class DuplicatingHandset(Handset):
    """A handset whose USSD centre delivers every request to several instances at the same
    moment (a retry racing the original): byte-for-byte the same request, sent at once.

    Every copy's answer is kept in :attr:`copies`; the screen shown is the first's."""

    def __init__(
        self, http: aiohttp.ClientSession, *, targets: Sequence[Sequence[str]], **kwargs: Any
    ) -> None:
        super().__init__(http, url=targets[0][0], **kwargs)
        self.targets = [list(t) for t in targets]
        """For each hop in turn, the URLs it goes to (cycled)."""
        self._turn = 0
        self.copies: list[list[Exchange]] = []

    async def _hop(self, state: HandsetState, op: Op, text: str) -> Screen:
        request = self.codec.request(state, op, text, secret=self._secret)
        assert request is not None
        urls = self.targets[self._turn % len(self.targets)]
        self._turn += 1
        self.state = None
        answers = await asyncio.gather(*(exchange(self._http, url, request) for url in urls))
        self.copies.append(list(answers))
        first = answers[0]
        reply = self.codec.parse(state, first.status, first.content_type, first.body)
        self.state = None if reply.screen.ends else state.advanced(op, text, reply)
        self.screen, self.reply = reply.screen, reply
        return reply.screen


# --- small helpers -----------------------------------------------------------------------


async def eventually(
    check: Callable[[], Awaitable[bool]], what: str, seconds: float = WAIT_SECONDS
) -> None:
    """Poll ``check`` until it holds, or fail naming ``what`` (bounded)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.05)
    pytest.fail(f"not within {seconds:.0f} s: {what}")


async def api_post(
    http: aiohttp.ClientSession,
    url: str,
    path: str,
    body: object,
    *,
    headers: Mapping[str, str] | None = None,
) -> tuple[int, Any]:
    """POST JSON to an instance's API; the status and the JSON body (None if empty)."""
    async with http.post(
        url + path,
        json=body,
        headers={**API_AUTH, **(headers or {})},
        timeout=aiohttp.ClientTimeout(total=10),
    ) as r:
        raw = await r.read()
        return r.status, json.loads(raw) if raw else None


async def api_get(
    http: aiohttp.ClientSession, url: str, path: str, *, headers: Mapping[str, str] | None = None
) -> tuple[int, Any]:
    """GET an instance's API; the status and the JSON body (None if empty)."""
    async with http.get(
        url + path, headers={**API_AUTH, **(headers or {})}, timeout=aiohttp.ClientTimeout(total=10)
    ) as r:
        raw = await r.read()
        return r.status, json.loads(raw) if raw else None


_CODE = re.compile(r"(?<!\d)(\d{6})(?!\d)")


def code_in(text: str) -> str:
    """The 6-digit code in an SMS text."""
    match = _CODE.search(text)
    assert match is not None, "the SMS carries no 6-digit code"
    return match.group(1)


async def last_code(store: Store, msisdn: str) -> str:
    """The code in the newest outbox SMS of ``msisdn`` (unsealed with the shared pepper)."""
    rows = await store.outbox(msisdn)
    assert rows, "no SMS in the outbox"
    return code_in(SEALER.open(rows[-1].body))


async def metric_total(
    http: aiohttp.ClientSession, url: str, name: str = "ussd_hops_total"
) -> float:
    """The sum of one counter over all its labels, from an instance's ``/metrics``."""
    async with http.get(url + "/metrics", timeout=aiohttp.ClientTimeout(total=10)) as r:
        text = await r.text()
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            total += float(line.rsplit(" ", 1)[1])
    return total


def audit_actions(entries: Iterable[Any]) -> list[str]:
    """Audit actions oldest first (``audit_log`` returns newest first)."""
    return [e.action for e in reversed(list(entries))]
