"""What the contract tests share: the seeded subscribers, row builders, and a footprint.

A module of its own (not the ``conftest``): test modules import it by name.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from state.models import (
    AuditEntry,
    ChangeSet,
    Channel,
    ClientKind,
    Subscriber,
    UssdSession,
    WebSession,
)
from state.store import Store, SubscriberRecord

OpenStore = Callable[[], Awaitable[Store]]
"""Opens another store instance on the test's database (closed when the test ends)."""

T0 = 1_800_000_000.0
"""The tests' "now": every time they write is near it."""

RU = "375291112233"
"""An individual subscriber, Russian menus, client ``client:ru``."""
EN = "375331112233"
"""An individual subscriber, English menus, client ``client:en``."""
ACME_1 = "375251000002"
ACME_2 = "375251000001"
"""Two subscribers of one legal entity, ``client:acme`` (imported in this order)."""
ACME_ACCOUNT = "1234567890123"
ACME_EMAIL = "Office@Acme.Example"
SEEDED = (RU, EN, ACME_1, ACME_2)

ARGON2 = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"
"""A value shaped like an argon2id hash (the schema accepts nothing else as a password)."""
REPLY = {"text": "Доступ открыт", "ends": False, "encoding": "ucs2", "length": 13}

_unique = itertools.count(1)


def unique(prefix: str) -> str:
    """A name no other call of this run returns (hypothesis examples share a database)."""
    return f"{prefix}-{next(_unique)}"


def unique_msisdn() -> str:
    """A subscriber number no other call of this run returns."""
    return f"37544{next(_unique):07d}"


def digest(label: str) -> bytes:
    """A 32-byte digest standing for a token, code or PUK1."""
    return hashlib.sha256(label.encode()).digest()


def record(msisdn: str, client_ref: str | None = None, **fields: Any) -> SubscriberRecord:
    """An import record of an individual subscriber (``fields`` replace defaults)."""
    values: dict[str, Any] = {
        "msisdn": msisdn,
        "puk_digest": digest(f"puk:{msisdn}"),
        "client_ref": client_ref or f"client:{msisdn}",
        "client_kind": ClientKind.INDIVIDUAL,
        "client_name": f"Client {msisdn}",
    }
    values.update(fields)
    return SubscriberRecord(**values)


async def seed(store: Store) -> None:
    """Import the subscribers every contract test starts with."""
    acme = {
        "client_kind": ClientKind.LEGAL_ENTITY,
        "client_name": "ACME",
        "account": ACME_ACCOUNT,
        "email": ACME_EMAIL,
    }
    summary = await store.import_subscribers(
        [
            record(RU, "client:ru"),
            record(EN, "client:en", lang="en"),
            record(ACME_1, "client:acme", **acme),
            record(ACME_2, "client:acme", **acme),
        ]
    )
    assert (summary.created, summary.updated) == (4, 0)


async def subscriber(store: Store, msisdn: str) -> Subscriber:
    """The subscriber's row, which the test knows exists."""
    row = await store.get_subscriber(msisdn)
    assert row is not None, f"{msisdn} is not stored"
    return row


def advanced(sub: Subscriber, **changes: Any) -> Subscriber:
    """``sub`` as a decision writes it: changed, its version advanced."""
    return replace(sub, version=sub.version + 1, **changes)


def entry(msisdn: str, action: str, at: float = T0, **detail: Any) -> AuditEntry:
    """An audit entry."""
    return AuditEntry(msisdn, action, "contract", Channel.USSD, at, detail)


def ussd(
    session_id: str,
    msisdn: str = RU,
    *,
    hop: int = 1,
    at: float = T0,
    started_at: float | None = None,
    **changes: Any,
) -> UssdSession:
    """A live USSD session at ``hop``, last moved at ``at``."""
    session = UssdSession(
        id=session_id,
        msisdn=msisdn,
        service="access",
        state="menu_open",
        lang="ru",
        started_at=at if started_at is None else started_at,
        updated_at=at,
        hop=hop,
        last_hop_length=hop - 1,
        last_hop_tag="*141#",
        last_reply=REPLY,
        data={"pending": "значение", "n": 1},
    )
    return replace(session, **changes)


def web(token: str, msisdn: str = RU, *, at: float = T0, **changes: Any) -> WebSession:
    """A live web session created (and last seen) at ``at``."""
    return replace(WebSession(digest(token), msisdn, "password", at, at), **changes)


async def footprint(
    store: Store,
    changes: ChangeSet,
    *,
    sessions: tuple[str, ...] = (),
    webs: tuple[bytes, ...] = (),
) -> dict[str, Any]:
    """Everything of the database that ``changes`` (and the USSD ``sessions``) could touch,
    as the store's reads see it: equal before and after a commit means nothing was written.

    ``webs`` names further web sessions (those ``sessions_ended`` would end)."""
    msisdns = sorted({s.msisdn for _, s in changes.subscribers} | set(SEEDED))
    subs = [await store.get_subscriber(m) for m in msisdns]
    client_ids = sorted({c.id for _, c in changes.clients} | {s.client_id for s in subs if s})
    purposes = {(c.msisdn, c.purpose) for c in changes.codes}
    purposes |= {(s.msisdn, s.purpose) for s in changes.code_sends}
    at = max([T0, *(s.at for s in changes.code_sends)]) + 1
    digests = {w.digest for _, w in changes.web_sessions} | set(webs)
    return {
        "subscribers": subs,
        "clients": [await store.get_client(i) for i in client_ids],
        "guards": [await store.get_guard(g.msisdn) for _, g in changes.guards],
        "codes": [await store.load_codes(m, p, at) for m, p in sorted(purposes)],
        "receipts": [await store.mo_received(r.source, r.message_id) for r in changes.mo_receipts],
        "webs": [await store.get_web_session(d) for d in sorted(digests)],
        "challenges": [await store.get_challenge(c.digest) for c in changes.challenges],
        "sessions": [(await store.load_hop(s, RU))[0] for s in sessions],
        "audit": await store.audit_log(limit=10_000),
        "outbox": await store.outbox(),
    }
