"""Fixtures of the account API tests: the real gateway, a real SMTP server, the world."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
from account_world import OPERATOR_SECRET, Api, Mailbox, free_port, records
from aiohttp.test_utils import TestServer
from aiosmtpd.controller import Controller
from support import API_SECRET, MO_SECRET, PEPPER_HEX, SECRETS, FakeClock

from state.credentials import Pepper
from state.sqlite import SqliteStore
from ussd_gateway.app import create_app
from ussd_gateway.config import AccountSettings, CodeSettings, Secret, Settings, SmsSettings


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    """A real SMTP server (aiosmtpd) on loopback."""
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    box.port = controller.port  # type: ignore[attr-defined]
    yield box
    controller.stop()


@pytest.fixture
def settings(tmp_path: Path, mailbox: Mailbox) -> Settings:
    """The shared settings, plus the operator credential and the loopback SMTP server."""
    return Settings(
        database=tmp_path / "gateway.sqlite3",
        puk_pepper=Secret(PEPPER_HEX),
        dialect_secrets={name: Secret(value) for name, value in SECRETS.items()},
        sms=SmsSettings(mo_secret=Secret(MO_SECRET), outbox_file=tmp_path / "outbox.jsonl"),
        codes=CodeSettings(api_secret=Secret(API_SECRET)),
        account=AccountSettings(
            operator_secret=Secret(OPERATOR_SECRET),
            smtp_host="127.0.0.1",
            smtp_port=mailbox.port,  # type: ignore[attr-defined]
            smtp_sender="A1 Customer Service <noreply@example.by>",
        ),
    )


@pytest.fixture
async def world(store: SqliteStore, pepper: Pepper) -> SqliteStore:
    """The shared seeded store plus the account world."""
    await store.import_subscribers(records(pepper))
    return store


@pytest.fixture
async def api(
    settings: Settings, world: SqliteStore, clock: FakeClock, http: aiohttp.ClientSession
) -> AsyncIterator[Api]:
    """The real gateway on loopback and a small client for its account API."""
    server = TestServer(create_app(settings, clock=clock), host="127.0.0.1")
    await server.start_server()
    yield Api(http, server, world, Pepper.from_hex(PEPPER_HEX), clock)
    await server.close()


