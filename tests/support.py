"""What tests share besides fixtures: seeded subscribers, typed secrets, small helpers.

A module of its own (not ``conftest``): test modules import from it by name, and a second
``conftest.py`` anywhere in the tree cannot shadow it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from account.operator import AccountService
from simulators.handset import Handset
from state.credentials import Pepper
from state.models import Channel, ClientKind, ClosedBy, Subscriber
from state.sqlite import SqliteStore
from state.store import SubscriberRecord
from ussd_gateway.process.demo import DEMO_SUBSCRIBERS

PEPPER_HEX = "5e" * 32
DIALECTS = ("native", "africastalking", "hubtel")
SECRETS = {name: f"{name}-caller-secret" for name in DIALECTS}
API_SECRET = "front-end-api-secret"
MO_SECRET = "smsc-callback-secret"
T0 = 1_800_000_000.0
LOG_DIR = Path(__file__).resolve().parent.parent / "var" / "test-logs"
# One file per run: two runs at once (a developer and CI, or two engineers) must not
# interleave their lines or scan each other's.
LOG_PATH = LOG_DIR / f"run-{os.getpid()}.jsonl"


@dataclass(frozen=True)
class SeededSubscriber:
    """A seeded subscriber and the PUK1 its SIM carries."""

    msisdn: str
    puk: str
    lang: str = "ru"
    kind: ClientKind = ClientKind.INDIVIDUAL
    closed_by: ClosedBy | None = None


OPEN_RU = SeededSubscriber("375291112233", "31415926")
OPEN_EN = SeededSubscriber("375331112233", "27182818", lang="en")
CLOSED_SELF = SeededSubscriber("375441112233", "16180339", closed_by=ClosedBy.SUBSCRIBER)
CLOSED_ORG = SeededSubscriber(
    "375251112233", "14142135", kind=ClientKind.LEGAL_ENTITY, closed_by=ClosedBy.ORGANISATION
)
CLOSED_OPERATOR = SeededSubscriber("375297654321", "17320508", closed_by=ClosedBy.OPERATOR)
SUBSCRIBERS = (OPEN_RU, OPEN_EN, CLOSED_SELF, CLOSED_ORG, CLOSED_OPERATOR)

WRONG_PUKS = ("90000001", "90000002", "90000003", "90000004", "90000005", "90000006")
PASSWORDS = (
    "Vasilek-2026", "Ромашка-полевая", "tulip garden 77", "Kolokolchik#9",
    "lilac by the window",  # simulators/scripts/password.yaml
)
"""Passwords tests type; the end-of-run log scan looks for each of them (and PUKs, and the
callers' secrets)."""
ACCOUNT_SECRETS = (
    "Pervy-parol-2026", "Vtoroy-parol-2026", "Schet-parol-2026", "Pochta-parol-2026",
    "190234567", "4417033",  # a UNP and a passport number of the account tests
)
"""What the account API tests type (passwords, identity numbers): scanned for too."""
TYPED_SECRETS = frozenset(
    {s.puk for s in SUBSCRIBERS}
    | {d.puk1 for d in DEMO_SUBSCRIBERS}
    | set(WRONG_PUKS)
    | set(PASSWORDS)
    | set(ACCOUNT_SECRETS)
    | set(SECRETS.values())
    | {API_SECRET, MO_SECRET}
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


HandsetFactory = Callable[..., Handset]


async def seed(store: SqliteStore, pepper: Pepper, subscribers: tuple[SeededSubscriber, ...]) -> None:
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


def read_log() -> list[dict[str, object]]:
    """The run's log lines so far, parsed."""
    text = LOG_PATH.read_text(encoding="utf-8") if LOG_PATH.exists() else ""
    # A line still being written (another thread's server logging) has no newline yet.
    complete = text[: text.rfind("\n") + 1]
    # split("\n"), not splitlines(): JSON strings may hold U+2028 and friends, which
    # splitlines() would cut a line at.
    return [json.loads(line) for line in complete.split("\n") if line.startswith("{")]


def log_offset() -> int:
    """Where the run's log ends now (bytes): read only what comes after with
    :func:`read_log_since` (the whole log of a full run is tens of thousands of lines)."""
    return LOG_PATH.stat().st_size if LOG_PATH.exists() else 0


def read_log_since(offset: int) -> list[dict[str, object]]:
    """The complete log lines written after ``offset``, parsed."""
    if not LOG_PATH.exists():
        return []
    with LOG_PATH.open("rb") as log:
        log.seek(offset)
        data = log.read()
    text = data[: data.rfind(b"\n") + 1].decode("utf-8", errors="replace")
    lines = text.split("\n")
    if offset and lines and not lines[0].startswith("{"):
        lines = lines[1:]  # the end of a line being written when the offset was taken
    parsed = []
    for line in lines:
        if line.startswith("{"):
            try:
                parsed.append(json.loads(line))
            except ValueError:  # only the first, cut line can be partial
                continue
    return parsed


def assert_not_stored(database: str, *secrets: str) -> None:
    """None of ``secrets`` appears in the database file or its write-ahead log."""
    for suffix in ("", "-wal"):
        path = Path(database + suffix)
        if path.exists():
            raw = path.read_bytes()
            for secret in secrets:
                assert secret.encode() not in raw, f"a typed secret is stored in {path.name}"


def snapshot(puk_digest: bytes, **changes: Any) -> Subscriber:
    """An open individual subscriber as the store returns it (``changes`` replace fields):
    what a menu machine's model is given, for tests that drive machines without a store."""
    opened = Subscriber(
        msisdn="375291112233", client_id=1, client_kind=ClientKind.INDIVIDUAL, lang="ru",
        closed_by=None, closed_reason=None, closed_at=None, puk_failures=0, puk_locked_at=None,
        password_changed_at=None, version=1, puk_digest=puk_digest, password_hash=None,
    )
    return replace(opened, **changes)
