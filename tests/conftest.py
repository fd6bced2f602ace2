"""Shared fixtures: a real SQLite file, the real app on a loopback port, real handsets.

Every test that talks to the gateway does so over HTTP on 127.0.0.1 with the simulator's
own dialect codecs, against a database file seeded with :data:`SUBSCRIBERS`.
The whole run logs JSON to ``var/test-logs/run-<pid>.jsonl``; at the end the run fails if
that log holds any PUK1, password or caller secret the tests typed.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from support import (
    API_SECRET,
    DIALECTS,
    LOG_DIR,
    LOG_PATH,
    MO_SECRET,
    PEPPER_HEX,
    SECRETS,
    SUBSCRIBERS,
    TYPED_SECRETS,
    FakeClock,
    HandsetFactory,
    seed,
)

from simulators.handset import Handset
from state.credentials import Pepper
from state.msisdn import current_plan, install_plan
from state.sqlite import SqliteStore
from ussd_gateway.app import create_app
from ussd_gateway.config import CodeSettings, Secret, Settings, SmsSettings
from ussd_gateway.process import logs


def pytest_configure(config: pytest.Config) -> None:
    """Log the whole run as JSON to one file, for the secret scan at the end."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    for old in LOG_DIR.glob("run-*.jsonl"):
        if not _process_alive(int(old.stem.removeprefix("run-"))):
            old.unlink(missing_ok=True)
    stream = LOG_PATH.open("w", encoding="utf-8", buffering=1)  # line-buffered: always current
    config.stash[_LOG_STREAM] = stream
    logs.configure("debug", stream, cache_loggers=False)


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
        sms=SmsSettings(mo_secret=Secret(MO_SECRET), outbox_file=tmp_path / "outbox.jsonl"),
        codes=CodeSettings(api_secret=Secret(API_SECRET)),
    )


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
def _plan_put_back() -> Iterator[None]:
    """``create_app`` installs its settings' numbering plan for the process (an equal copy of
    the default, read from a file, is another object): each test gets back the plan it had."""
    previous = current_plan()
    yield
    install_plan(previous)


@pytest.fixture(autouse=True)
def _no_ambient_config(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tests never pick up a developer's USSD_GATEWAY_* environment."""
    for key in list(os.environ):
        if key.startswith("USSD_GATEWAY_"):
            monkeypatch.delenv(key)
    yield


@pytest.fixture(autouse=True)
def _run_log_stream(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a test that configured logging itself (``serve`` in-process writes to the
    test's captured stderr, closed when the test ends), the run's own log again.

    pytest's own capture handlers sit beside ours on the root logger during a test, so
    only the absence of our stream's handler means a test replaced it. A structlog logger
    first used while a test's configuration with cached loggers was in effect would keep
    that stream, which this cannot undo: ``test_logs.py`` configures with
    ``cache_loggers=False``, and the in-process ``serve`` test stops before configuring.
    """
    yield
    stream = request.config.stash.get(_LOG_STREAM, None)
    handlers = logging.getLogger().handlers
    if stream is not None and not any(getattr(h, "stream", None) is stream for h in handlers):
        logs.configure("debug", stream, cache_loggers=False)  # type: ignore[arg-type]


_PG_NOT_RUN = pytest.StashKey[str]()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without a PostgreSQL server a developer's run leaves the PostgreSQL tests out and
    says so in one line at the end; under ``CI=true`` they run and fail with the reason."""
    marked = [item for item in items if item.get_closest_marker("postgres")]
    if not marked or os.environ.get("CI", "").lower() == "true":
        return
    import asyncio

    from pgserver import SERVER, server_reachable

    if asyncio.run(server_reachable()):
        return
    config.hook.pytest_deselected(items=marked)
    chosen = set(map(id, marked))
    items[:] = [item for item in items if id(item) not in chosen]
    config.stash[_PG_NOT_RUN] = (
        f"PostgreSQL: {len(marked)} tests not run, no server at {SERVER} (a local server, "
        "USSD_TEST_PG=postgresql://user@host:port, or CI=true to make this a failure)"
    )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The one line about PostgreSQL tests left out (see above)."""
    line = terminalreporter.config.stash.get(_PG_NOT_RUN, None)
    if line:
        terminalreporter.write_line(line, yellow=True)
