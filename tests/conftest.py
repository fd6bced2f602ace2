"""Shared fixtures: a real SQLite file, the real app on a loopback port, real handsets.

Every test that talks to the gateway does so over HTTP on 127.0.0.1 with the simulator's
own dialect codecs, against a database file seeded with :data:`SUBSCRIBERS`.
The whole run logs JSON to ``var/test-logs/run-<pid>.jsonl``; at the end the run fails if
that log holds any PUK1, password or caller secret the tests typed.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from simulators.handset import Handset
from state.credentials import Pepper
from state.models import Channel, ClientKind, ClosedBy
from state.service import AccountService
from state.sqlite import SqliteStore
from state.store import SubscriberRecord
from ussd_gateway import logs
from ussd_gateway.app import create_app
from ussd_gateway.config import Secret, Settings
from ussd_gateway.demo import DEMO_SUBSCRIBERS

PEPPER_HEX = "5e" * 32
DIALECTS = ("native", "africastalking", "hubtel")
SECRETS = {name: f"{name}-caller-secret" for name in DIALECTS}
T0 = 1_800_000_000.0
LOG_DIR = Path(__file__).resolve().parent.parent / "var" / "test-logs"
# One file per run: two runs at once (a developer and CI, or two engineers) must not
# interleave their lines or scan each other's.
LOG_PATH = LOG_DIR / f"run-{os.getpid()}.jsonl"


@dataclass(frozen=True)
class TestSubscriber:
    """A seeded subscriber and the PUK1 its SIM carries."""

    msisdn: str
    puk: str
    lang: str = "ru"
    kind: ClientKind = ClientKind.INDIVIDUAL
    closed_by: ClosedBy | None = None


OPEN_RU = TestSubscriber("375291112233", "31415926")
OPEN_EN = TestSubscriber("375331112233", "27182818", lang="en")
CLOSED_SELF = TestSubscriber("375441112233", "16180339", closed_by=ClosedBy.SUBSCRIBER)
CLOSED_ORG = TestSubscriber(
    "375251112233", "14142135", kind=ClientKind.LEGAL_ENTITY, closed_by=ClosedBy.ORGANISATION
)
CLOSED_OPERATOR = TestSubscriber("375297654321", "17320508", closed_by=ClosedBy.OPERATOR)
SUBSCRIBERS = (OPEN_RU, OPEN_EN, CLOSED_SELF, CLOSED_ORG, CLOSED_OPERATOR)

WRONG_PUKS = ("90000001", "90000002", "90000003", "90000004", "90000005", "90000006")
PASSWORDS = (
    "Vasilek-2026", "Ромашка-полевая", "tulip garden 77", "Kolokolchik#9",
    "lilac by the window",  # simulators/scripts/password.yaml
)
"""Passwords tests type; the end-of-run log scan looks for each of them (and PUKs, and the
callers' secrets)."""
TYPED_SECRETS = frozenset(
    {s.puk for s in SUBSCRIBERS}
    | {d.puk1 for d in DEMO_SUBSCRIBERS}
    | set(WRONG_PUKS)
    | set(PASSWORDS)
    | set(SECRETS.values())
)


class FakeClock:
    """An injectable clock that only moves when a test says so."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now += seconds


def pytest_configure(config: pytest.Config) -> None:
    """Log the whole run as JSON to one file, for the secret scan at the end."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    for old in LOG_DIR.glob("run-*.jsonl"):
        if not _process_alive(int(old.stem.removeprefix("run-"))):
            old.unlink(missing_ok=True)
    stream = LOG_PATH.open("w", encoding="utf-8", buffering=1)  # line-buffered: always current
    config.stash[_LOG_STREAM] = stream
    logs.configure("debug", stream)


_LOG_STREAM = pytest.StashKey[object]()


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if the log holds a secret any test typed."""
    stream = session.config.stash.get(_LOG_STREAM, None)
    if stream is not None:
        stream.flush()  # type: ignore[attr-defined]
    text = LOG_PATH.read_text(encoding="utf-8") if LOG_PATH.exists() else ""
    leaked = sorted(s for s in TYPED_SECRETS if s in text)
    if leaked:
        session.exitstatus = 1
        print(f"\nSECRET LEAK: {len(leaked)} typed secret(s) found in {LOG_PATH}")
    else:
        lines = text.count("\n")
        print(f"\nlog scan: {lines} log lines in {LOG_PATH}, no typed PUK1 or password")


@pytest.fixture
def pepper() -> Pepper:
    """The test pepper."""
    return Pepper.from_hex(PEPPER_HEX)


@pytest.fixture
def clock() -> FakeClock:
    """A clock tests move by hand."""
    return FakeClock()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings on a fresh database file, caller secrets on, production hashing cost."""
    return Settings(
        database=tmp_path / "gateway.sqlite3",
        puk_pepper=Secret(PEPPER_HEX),
        dialect_secrets={name: Secret(value) for name, value in SECRETS.items()},
    )


async def seed(store: SqliteStore, pepper: Pepper, subscribers: tuple[TestSubscriber, ...]) -> None:
    """Import ``subscribers`` and apply their initial closures."""
    await store.import_subscribers(
        [
            SubscriberRecord(s.msisdn, pepper.digest(s.puk), f"client:{s.msisdn}", s.kind,
                             f"Client {s.msisdn}", s.lang)
            for s in subscribers
        ]
    )
    service = AccountService(store)
    for s in subscribers:
        if s.closed_by is not None:
            await service.close_access(s.msisdn, by=s.closed_by, actor="test", channel=Channel.CLI,
                                       reason="seed")


@pytest.fixture
async def store(settings: Settings, pepper: Pepper) -> AsyncIterator[SqliteStore]:
    """The seeded database, through its own connection (the app opens another)."""
    settings.database.parent.mkdir(parents=True, exist_ok=True)
    db = await SqliteStore.open(settings.database)
    await seed(db, pepper, SUBSCRIBERS)
    yield db
    await db.close()


@pytest.fixture
async def gateway(
    settings: Settings, store: SqliteStore, clock: FakeClock
) -> AsyncIterator[TestServer]:
    """The real gateway on a loopback port, on the seeded file."""
    server = TestServer(create_app(settings, clock=clock), host="127.0.0.1")
    await server.start_server()
    yield server
    await server.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain HTTP client."""
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture(params=DIALECTS)
def dialect(request: pytest.FixtureRequest) -> str:
    """Each dialect in turn."""
    return str(request.param)


HandsetFactory = Callable[..., Handset]


@pytest.fixture
def handset(gateway: TestServer, http: aiohttp.ClientSession, dialect: str) -> HandsetFactory:
    """Make a handset for a subscriber, speaking the current dialect to the gateway."""

    def make(msisdn: str, *, dialect_name: str | None = None, secret: str | None = None) -> Handset:
        name = dialect_name or dialect
        return Handset(
            http,
            url=str(gateway.make_url("")),
            msisdn=msisdn,
            dialect=name,
            secret=secret if secret is not None else SECRETS[name],
        )

    return make


@pytest.fixture(autouse=True)
def _no_ambient_config(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tests never pick up a developer's USSD_GATEWAY_* environment."""
    for key in list(os.environ):
        if key.startswith("USSD_GATEWAY_"):
            monkeypatch.delenv(key)
    yield


def read_log() -> list[dict[str, object]]:
    """The run's log lines so far, parsed."""
    stream_lines = LOG_PATH.read_text(encoding="utf-8").splitlines() if LOG_PATH.exists() else []
    return [json.loads(line) for line in stream_lines if line.startswith("{")]


def assert_not_stored(database: str, *secrets: str) -> None:
    """None of ``secrets`` appears in the database file or its write-ahead log."""
    for suffix in ("", "-wal"):
        path = Path(database + suffix)
        if path.exists():
            raw = path.read_bytes()
            for secret in secrets:
                assert secret.encode() not in raw, f"a typed secret is stored in {path.name}"
