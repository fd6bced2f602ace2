"""The account world of the account API tests: its subscribers, a mailbox, an API client.

A legal entity with three subscribers (the contact number is its administrator), a sole
proprietor with one (administrator by default), an individual with an account number and
passport, an individual craftsman with e-mail, an individual with the "registration by
PUK1" option, and another company whose subscriber nobody else may touch.
"""

from __future__ import annotations

import asyncio
import re
import socket
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from email.policy import default
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer
from support import API_SECRET, FakeClock

from state.credentials import Pepper, Sealer
from state.credentials import identity_digest
from state.models import Activity, ClientKind, Role
from state.msisdn import normalize_msisdn
from state.sqlite import SqliteStore
from state.store import SubscriberRecord

OPERATOR_SECRET = "operator-tools-secret"
FRONT = {"Authorization": f"Bearer {API_SECRET}"}
OPERATOR = {"Authorization": f"Bearer {OPERATOR_SECRET}"}
UNP = "190234567"
PASSPORT = "4417033"


@dataclass(frozen=True)
class Member:
    """A subscriber of the account world."""

    msisdn: str
    puk: str
    client: str


ACME_ADMIN = Member("375291230001", "51000001", "acme")
ACME_STAFF = Member("375291230002", "51000002", "acme")
ACME_DRIVER = Member("375291230003", "51000003", "acme")
SOLE = Member("375447770002", "51000004", "sole")
PERSON = Member("375297770001", "51000005", "person")
CRAFTSMAN = Member("375337770004", "51000006", "craft")
PUK_OPTION = Member("375337770003", "51000007", "pukopt")
OTHER_CO = Member("375259990001", "51000008", "other")
WORLD = (ACME_ADMIN, ACME_STAFF, ACME_DRIVER, SOLE, PERSON, CRAFTSMAN, PUK_OPTION, OTHER_CO)


def records(pepper: Pepper) -> list[SubscriberRecord]:
    def rec(m: Member, kind: ClientKind, **extra: Any) -> SubscriberRecord:
        return SubscriberRecord(
            m.msisdn, pepper.digest(m.puk), m.client, kind, f"Client {m.client}", "ru", **extra
        )

    acme = {
        "account": "200012345",
        "identity_digest": identity_digest(pepper, UNP),
        "email": "it@acme.example.by",
        "contact_msisdn": ACME_ADMIN.msisdn,
        "subscription_fee": True,
    }
    return [
        rec(ACME_ADMIN, ClientKind.LEGAL_ENTITY, role=Role.ADMINISTRATOR, **acme),
        rec(ACME_STAFF, ClientKind.LEGAL_ENTITY, **acme),
        rec(ACME_DRIVER, ClientKind.LEGAL_ENTITY, **acme),
        rec(SOLE, ClientKind.SOLE_PROPRIETOR, email="sole@example.by"),
        rec(
            PERSON,
            ClientKind.INDIVIDUAL,
            account="100054321",
            identity_digest=identity_digest(pepper, PASSPORT),
            email="person@example.by",
        ),
        rec(CRAFTSMAN, ClientKind.INDIVIDUAL, email="craft@example.by", activity=Activity.CRAFT),
        rec(PUK_OPTION, ClientKind.INDIVIDUAL, puk_registration=True),
        rec(OTHER_CO, ClientKind.LEGAL_ENTITY, email="boss@other.example.by"),
    ]


@dataclass
class Mailbox:
    """What the loopback SMTP server received."""

    messages: list[Message] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(
            message_from_bytes(envelope.original_content or envelope.content, policy=default)
        )
        return "250 OK"

    async def wait(self, count: int, seconds: float = 10.0) -> list[Message]:
        """Wait until ``count`` messages are in (the gateway sends in the background, on
        this same event loop: so wait without blocking it)."""
        deadline = asyncio.get_running_loop().time() + seconds
        while len(self.messages) < count and asyncio.get_running_loop().time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        assert len(self.messages) >= count, f"{len(self.messages)} e-mails, expected {count}"
        return self.messages


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Answer:
    """One HTTP answer."""

    status: int
    body: Any
    headers: dict[str, str]

    @property
    def error(self) -> str | None:
        return self.body.get("error") if isinstance(self.body, dict) else None


@dataclass
class Api:
    """Calls the account API as the front end does."""

    http: aiohttp.ClientSession
    server: TestServer
    store: SqliteStore
    pepper: Pepper
    clock: FakeClock

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        sent = dict(FRONT if headers is None else headers)
        if token is not None:
            sent["X-Session-Token"] = token
        async with self.http.request(
            method, self.server.make_url(path), json=body, headers=sent
        ) as r:
            text = await r.text()
            parsed: Any = None
            if text and r.content_type == "application/json":
                parsed = await r.json()
            return Answer(r.status, parsed, dict(r.headers))

    async def post(self, path: str, body: Any = None, **kw: Any) -> Answer:
        return await self.call("POST", path, body if body is not None else {}, **kw)

    async def get(self, path: str, **kw: Any) -> Answer:
        return await self.call("GET", path, **kw)

    async def last_code(self, msisdn: str) -> str:
        """The code in the latest SMS queued for ``msisdn`` (opened with the pepper)."""
        rows = await self.store.outbox(normalize_msisdn(msisdn))
        assert rows, f"no SMS for {msisdn}"
        match = re.search(r"\b(\d{6})\b", Sealer(self.pepper).open(rows[-1].body))
        assert match, "no code in the SMS"
        return match.group(1)

    async def code_for(self, msisdn: str, purpose: str) -> str:
        """Request a code through /api/v1/codes and read it from the outbox."""
        answer = await self.post("/api/v1/codes", {"msisdn": msisdn, "purpose": purpose})
        assert answer.status == 202, answer
        return await self.last_code(msisdn)

    async def register(self, msisdn: str, password: str) -> None:
        """Register by SMS code (a minute later than any earlier code, for the send limit)."""
        self.clock.advance(61)
        code = await self.code_for(msisdn, "register")
        answer = await self.post(
            "/api/v1/register/sms",
            {"msisdn": msisdn, "code": code, "password": password, "password_confirmation": password},
        )
        assert answer.status == 201, answer

    async def login(self, msisdn: str, password: str) -> str:
        """Log in by password; the session token."""
        answer = await self.post("/api/v1/login/password", {"msisdn": msisdn, "password": password})
        assert answer.status == 200, answer
        return str(answer.body["token"])
