"""The outbox worker on a real SQLite file: sends once, retries with backoff under an
injected clock, gives up, drops expired and over-long messages, opens sealed bodies, and
never lets two workers (two connections on one file) send the same message twice."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest
from support import LOG_PATH, OPEN_EN, OPEN_RU, PEPPER_HEX, FakeClock, assert_not_stored

from sms.outbox import OutboxWorker
from sms.senders import SendResult
from state.credentials import Pepper, Sealer
from state.models import ChangeSet, OutboxMessage
from state.msisdn import mask_msisdn
from state.sqlite import SqliteStore
from state.store import OutboxRow
from ussd_gateway.config import Settings

OK = SendResult(True, provider_ref="ref-1", detail="http 202: 0: Accepted for delivery")
DOWN = SendResult(False, retryable=True, detail="http 503: busy")
REFUSED = SendResult(False, retryable=False, detail="http 403: Authorization failed")


@dataclass
class FakeSender:
    """Answers from a script (the last answer repeats) and records every call."""

    answers: list[SendResult] = field(default_factory=lambda: [OK])
    calls: list[tuple[str, str, int]] = field(default_factory=list)
    hold: asyncio.Event | None = None
    started: asyncio.Event = field(default_factory=asyncio.Event)
    jitter: bool = False

    async def send(self, msisdn: str, text: str, *, message_id: int) -> SendResult:
        self.calls.append((msisdn, text, message_id))
        self.started.set()
        if self.hold is not None:
            await self.hold.wait()
        if self.jitter:
            await asyncio.sleep(random.uniform(0, 0.003))
        index = min(len(self.calls), len(self.answers)) - 1
        return self.answers[index]


@pytest.fixture
def sealer(pepper: Pepper) -> Sealer:
    """The sealer the gateway would use for this pepper."""
    return Sealer(pepper)


WorkerFactory = Callable[..., OutboxWorker]


@pytest.fixture
def make_worker(store: SqliteStore, sealer: Sealer, clock: FakeClock) -> WorkerFactory:
    """A worker on the seeded store with the fake clock; options override the defaults."""

    def make(sender: FakeSender, **options: object) -> OutboxWorker:
        settings: dict[str, object] = {"clock": clock, "max_segments": 3, **options}
        return OutboxWorker(store, sender, sealer, **settings)  # type: ignore[arg-type]

    return make


async def put(
    store: SqliteStore,
    body: str,
    *,
    at: float,
    msisdn: str = OPEN_RU.msisdn,
    kind: str = "test",
    expires_at: float | None = None,
) -> int:
    """Commit one outbox message (as the core does); its id."""
    message = OutboxMessage(msisdn, kind, body, at, expires_at)
    await store.commit(ChangeSet(outbox=(message,)))
    return max(row.id for row in await store.outbox())


async def row_of(store: SqliteStore, message_id: int) -> OutboxRow:
    """The stored row of one message."""
    (row,) = [r for r in await store.outbox() if r.id == message_id]
    return row


async def test_a_message_is_sent_once(
    store: SqliteStore, make_worker: WorkerFactory, clock: FakeClock
) -> None:
    """Sent with its text and id, marked sent with the provider's reference; never again."""
    message_id = await put(store, "Hello", at=clock())
    sender = FakeSender()
    worker = make_worker(sender)
    assert await worker.run_once() == 1
    assert sender.calls == [(OPEN_RU.msisdn, "Hello", message_id)]
    row = await row_of(store, message_id)
    assert (row.status, row.provider_ref, row.attempts, row.result) == (
        "sent",
        "ref-1",
        1,
        "accepted",
    )
    clock.advance(3600)
    assert await worker.run_once() == 0
    assert len(sender.calls) == 1


async def test_retries_follow_the_backoff(
    store: SqliteStore, make_worker: WorkerFactory, clock: FakeClock
) -> None:
    """A retryable failure comes back after 5 s, then 15 s; not a moment earlier."""
    message_id = await put(store, "Hello", at=clock())
    sender = FakeSender([DOWN, DOWN, OK])
    worker = make_worker(sender)
    start = clock()
    assert await worker.run_once() == 1
    row = await row_of(store, message_id)
    assert (row.status, row.next_attempt_at, row.result) == (
        "pending",
        start + 5,
        "retry: http 503: busy",
    )
    clock.advance(4.9)
    assert await worker.run_once() == 0
    clock.advance(0.1)
    assert await worker.run_once() == 1
    assert (await row_of(store, message_id)).next_attempt_at == clock() + 15
    clock.advance(14.9)
    assert await worker.run_once() == 0
    clock.advance(0.1)
    assert await worker.run_once() == 1
    row = await row_of(store, message_id)
    assert (row.status, row.attempts, len(sender.calls)) == ("sent", 3, 3)


async def test_gives_up_after_max_attempts(
    store: SqliteStore, make_worker: WorkerFactory, clock: FakeClock
) -> None:
    """Always failing: exactly max_attempts sends, then failed for good."""
    message_id = await put(store, "Hello", at=clock())
    sender = FakeSender([DOWN])
    worker = make_worker(sender, max_attempts=3, backoff=(1, 2))
    for _ in range(10):
        await worker.run_once()
        clock.advance(10)
    row = await row_of(store, message_id)
    assert (row.status, row.attempts, len(sender.calls)) == ("failed", 3, 3)
    assert row.result == "gave_up: http 503: busy"
    assert row.next_attempt_at is None


async def test_a_final_refusal_is_not_retried(
    store: SqliteStore, make_worker: WorkerFactory, clock: FakeClock
) -> None:
    """A 4xx (bad credentials, bad number) fails at once."""
    message_id = await put(store, "Hello", at=clock())
    sender = FakeSender([REFUSED])
    worker = make_worker(sender)
    await worker.run_once()
    clock.advance(3600)
    await worker.run_once()
    row = await row_of(store, message_id)
    assert (row.status, row.result, len(sender.calls)) == (
        "failed",
        "rejected: http 403: Authorization failed",
        1,
    )


async def test_a_sender_that_raises_or_hangs_is_retried(
    store: SqliteStore, make_worker: WorkerFactory, clock: FakeClock
) -> None:
    """A sender bug or a send over half the lease: retryable, the worker goes on."""

    class Broken:
        async def send(self, msisdn: str, text: str, *, message_id: int) -> SendResult:
            raise RuntimeError("http://k/?password=hunter2")

    message_id = await put(store, "Hello", at=clock())
    await make_worker(Broken()).run_once()
    row = await row_of(store, message_id)
    assert (row.status, row.result) == ("pending", "retry: error: RuntimeError")
    clock.advance(5)
    hung = FakeSender(hold=asyncio.Event())
    await make_worker(hung, lease=0.2).run_once()
    row = await row_of(store, message_id)
    assert (row.status, row.result) == ("pending", "retry: timeout")


async def test_expired_messages_are_dropped(
    store: SqliteStore, make_worker: WorkerFactory, clock: FakeClock
) -> None:
    """Past expires_at: failed/expired, never sent; a retry past it fails instead."""
    stale = await put(store, "Code 1", at=clock(), expires_at=clock() + 60)
    clock.advance(61)
    sender = FakeSender([DOWN])
    assert await make_worker(sender).run_once() == 1
    row = await row_of(store, stale)
    assert (row.status, row.result, sender.calls) == ("failed", "expired", [])
    short = await put(store, "Code 2", at=clock(), expires_at=clock() + 3)
    await make_worker(sender).run_once()
    row = await row_of(store, short)
    assert (row.status, row.result) == ("failed", "expired: http 503: busy")
    assert len(sender.calls) == 1


async def test_too_long_is_refused_never_truncated(
    store: SqliteStore, make_worker: WorkerFactory, clock: FakeClock
) -> None:
    """Over max_segments: failed/too_long without a send; at the limit: sent whole."""
    over = await put(store, "a" * (153 * 3 + 1), at=clock())
    fits = await put(store, "Ж" * 67 * 3, at=clock())
    sender = FakeSender()
    assert await make_worker(sender, max_segments=3).run_once() == 2
    assert ((await row_of(store, over)).status, (await row_of(store, over)).result) == (
        "failed",
        "too_long",
    )
    assert (await row_of(store, fits)).status == "sent"
    assert [(text, mid) for _, text, mid in sender.calls] == [("Ж" * 67 * 3, fits)]


async def test_sealed_bodies_are_opened_only_to_send(
    store: SqliteStore,
    make_worker: WorkerFactory,
    clock: FakeClock,
    sealer: Sealer,
    settings: Settings,
) -> None:
    """The sender gets the text; the row keeps the sealed body; the text is nowhere in the
    database; a body sealed under another key fails as unreadable."""
    text = "Код подтверждения: 730519"
    message_id = await put(store, sealer.seal(text), at=clock(), kind="code")
    other = Sealer(Pepper.from_hex("77" * 32)).seal("Код подтверждения: 000000")
    foreign = await put(store, other, at=clock(), kind="code")
    sender = FakeSender()
    await make_worker(sender).run_once()
    assert sender.calls == [(OPEN_RU.msisdn, text, message_id)]
    row = await row_of(store, message_id)
    assert row.status == "sent" and row.body.startswith(Sealer.PREFIX)
    assert sealer.open(row.body) == text
    assert ((await row_of(store, foreign)).status, (await row_of(store, foreign)).result) == (
        "failed",
        "unreadable",
    )
    assert_not_stored(str(settings.database), text, "730519")
    assert PEPPER_HEX  # the gateway's sealer is derived from the same pepper


async def test_one_log_line_per_send_without_the_body(
    store: SqliteStore, make_worker: WorkerFactory, clock: FakeClock
) -> None:
    """Id, kind, outcome, masked number in the log; the text never."""
    text = "Текст, которого нет в журнале: Жёлудь-Ъ"
    message_id = await put(store, text, at=clock(), msisdn=OPEN_EN.msisdn, kind="log-probe")
    await make_worker(FakeSender()).run_once()
    log_text = LOG_PATH.read_text(encoding="utf-8")
    assert text not in log_text and "Жёлудь" not in log_text
    lines = [
        json.loads(ln)
        for ln in log_text.splitlines()
        if '"sms_send"' in ln and '"kind": "log-probe"' in ln
    ]
    assert len(lines) == 1
    assert lines[0]["message_id"] == message_id
    assert {k: lines[0][k] for k in ("kind", "outcome", "status", "attempt", "msisdn")} == {
        "kind": "log-probe",
        "outcome": "accepted",
        "status": "sent",
        "attempt": 1,
        "msisdn": "37533***2233",
    }
    assert mask_msisdn(OPEN_EN.msisdn) == "37533***2233"


async def test_a_leased_message_is_invisible_to_another_worker(
    store: SqliteStore, make_worker: WorkerFactory, clock: FakeClock
) -> None:
    """While one worker sends, another finds nothing; a worker that died after leasing
    leaves the message due again once its lease runs out."""
    first = await put(store, "one", at=clock())
    slow = FakeSender(hold=asyncio.Event())
    busy = asyncio.create_task(make_worker(slow).run_once())
    await asyncio.wait_for(slow.started.wait(), 5)
    other = FakeSender()
    assert await make_worker(other).run_once() == 0
    assert slow.hold is not None
    slow.hold.set()
    assert await busy == 1
    assert other.calls == [] and (await row_of(store, first)).status == "sent"
    # A worker leases and dies before sending (no finish): due again after 30 s.
    second = await put(store, "two", at=clock())
    assert len(await store.claim_outbox(clock(), limit=10, lease=30.0)) == 1
    clock.advance(29.9)
    assert await make_worker(other).run_once() == 0
    clock.advance(0.1)
    assert await make_worker(other).run_once() == 1
    assert other.calls == [(OPEN_RU.msisdn, "two", second)]
    assert (await row_of(store, second)).attempts == 2


@pytest.fixture
async def second_store(settings: Settings, store: SqliteStore) -> AsyncIterator[SqliteStore]:
    """Another connection on the same file, as another process would have."""
    db = await SqliteStore.open(settings.database)
    yield db
    await db.close()


async def test_two_workers_on_one_file_never_send_twice(
    store: SqliteStore,
    second_store: SqliteStore,
    sealer: Sealer,
    clock: FakeClock,
) -> None:
    """60 messages, two workers on two connections racing in small batches: each message
    is sent exactly once."""
    ids = [await put(store, f"message {n}", at=clock()) for n in range(60)]
    senders = [FakeSender(jitter=True), FakeSender(jitter=True)]
    workers = [
        OutboxWorker(db, sender, sealer, clock=clock, max_segments=3, batch=4)
        for db, sender in zip((store, second_store), senders, strict=True)
    ]

    async def drain(worker: OutboxWorker) -> None:
        while await worker.run_once():
            continue

    await asyncio.gather(*(drain(w) for w in workers), *(drain(w) for w in workers))
    sent = [mid for sender in senders for _, _, mid in sender.calls]
    assert sorted(sent) == ids
    # How the work splits is up to SQLite's busy handler (one connection may win every
    # race); that it never overlaps is the point.
    assert {row.status for row in await store.outbox()} == {"sent"}


async def test_run_sends_until_stopped(
    store: SqliteStore, make_worker: WorkerFactory, clock: FakeClock
) -> None:
    """The loop picks up messages committed while it runs and stops when told."""
    sender = FakeSender()
    stop = asyncio.Event()
    task = asyncio.create_task(make_worker(sender).run(stop, idle_sleep=0.01))
    message_id = await put(store, "late", at=clock())
    for _ in range(500):
        if sender.calls:
            break
        await asyncio.sleep(0.01)
    assert sender.calls == [(OPEN_RU.msisdn, "late", message_id)]
    stop.set()
    await asyncio.wait_for(task, 2)


def test_worker_checks_its_settings(store: SqliteStore, sealer: Sealer) -> None:
    """Nonsense limits are refused up front."""
    for bad in (
        {"lease": 0},
        {"batch": 0},
        {"max_attempts": 0},
        {"backoff": ()},
        {"max_segments": 0},
    ):
        options: dict[str, object] = {"clock": lambda: 0.0, "max_segments": 3, **bad}
        with pytest.raises(ValueError):
            OutboxWorker(store, FakeSender(), sealer, **options)  # type: ignore[arg-type]


@dataclass
class Counted:
    """A :class:`sms.counters.SendCounters` that keeps what it is told."""

    attempts: list[tuple[str, bool, int, str]] = field(default_factory=list)
    finished: list[tuple[str, str]] = field(default_factory=list)

    def send_attempted(
        self, sender: str, *, accepted: bool, attempt: int, seconds: float, detail: str
    ) -> None:
        assert seconds >= 0
        self.attempts.append((sender, accepted, attempt, detail))

    def send_finished(self, sender: str, outcome: str) -> None:
        self.finished.append((sender, outcome))


async def test_the_counters_hear_every_attempt_and_every_outcome(
    store: SqliteStore, make_worker: WorkerFactory, clock: FakeClock
) -> None:
    """Each hand-over to the sender (taken or not, which attempt, its detail) and each
    message's outcome, under the sender's name; a message never handed over (expired)
    has an outcome and no attempt."""
    await put(store, "Hello", at=clock())
    await put(store, "Late", at=clock(), expires_at=clock())
    counted = Counted()
    worker = make_worker(FakeSender([DOWN, OK]), counters=counted)
    assert worker.sender_name == "fakesender"
    await worker.run_once()
    clock.advance(5)
    await worker.run_once()
    assert counted.attempts == [
        ("fakesender", False, 1, "http 503: busy"),
        ("fakesender", True, 2, OK.detail),
    ]
    assert sorted(counted.finished) == [
        ("fakesender", "accepted"),
        ("fakesender", "expired"),
        ("fakesender", "retry"),
    ]
