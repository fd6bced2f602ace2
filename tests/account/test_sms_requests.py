"""The MO route's decisions (account/sms_requests.py) against a real SQLite file.

Two :class:`SmsRequests` on one database stand for two worker processes: each has its own
per-MO-id turns, so only the store decides between them. The interleavings that matter are
forced, not hoped for: one delivery is held right after a commit of its own while the
other delivery runs to its end.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from support import OPEN_RU, FakeClock

from account.codes import CodeService, Purpose
from account.sms_requests import MoAnswer, SmsRequests
from sms.commands import load_commands, shipped_commands_path
from sms.mo import MoMessage, MoSource
from state.credentials import Pepper, Sealer
from state.models import ChangeSet
from state.sqlite import SqliteStore

MO_ID = "5f0c7e0a-93b4-4d7e-a1f6-2b8c9d0e1f2a"
CODE = re.compile(r"\b\d{6}\b")


class HeldAfterFirstCommit:
    """The real store, but the first commit through it waits, once written, for ``release``:
    the other worker runs meanwhile, as another process would."""

    def __init__(self, store: SqliteStore) -> None:
        self._store = store
        self.committed = asyncio.Event()
        self.release = asyncio.Event()
        self._held = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def commit(self, changes: ChangeSet) -> None:
        await self._store.commit(changes)
        if not self._held:
            self._held = True
            self.committed.set()
            await self.release.wait()


def _requests(store: Any, pepper: Pepper, clock: FakeClock) -> SmsRequests:
    codes = CodeService(store, pepper, clock=clock)
    return SmsRequests(store, codes, load_commands(shipped_commands_path()), Sealer(pepper),
                       clock=clock)  # fmt: skip


def _kod() -> MoMessage:
    return MoMessage(OPEN_RU.msisdn, "141", "KOD", MO_ID, MoSource.JASMIN)


async def test_a_duplicate_in_another_process_leaves_one_reply_with_the_live_code(
    store: SqliteStore, pepper: Pepper, clock: FakeClock
) -> None:
    """One worker's delivery commits and is held there; the other's delivery of the same MO
    runs meanwhile. Whatever the first wrote is all of its answer (code, reply MT, receipt),
    so the second finds the receipt: one reply MT, whose code is the number's live code,
    one send spent. (Committed apart, the first's code and the second's "a code was already
    sent" reply with the receipt would leave the subscriber a reply without a code.)"""
    held = HeldAfterFirstCommit(store)
    worker_a = _requests(held, pepper, clock)
    worker_b = _requests(store, pepper, clock)
    a = asyncio.create_task(worker_a.answer(_kod()))
    await asyncio.wait_for(held.committed.wait(), 5)
    b: MoAnswer = await worker_b.answer(_kod())
    held.release.set()
    answers = sorted([(await a).outcome, b.outcome])
    assert answers == ["duplicate", "reply"]
    [row] = await store.outbox(OPEN_RU.msisdn)
    assert row.kind == f"code:{Purpose.LOGIN}"
    [code] = CODE.findall(Sealer(pepper).open(row.body))
    snapshot = await store.load_codes(OPEN_RU.msisdn, Purpose.LOGIN, clock())
    assert snapshot.sends_last_minute == 1
    codes = CodeService(store, pepper, clock=clock)
    assert await codes.verify(OPEN_RU.msisdn, Purpose.LOGIN, code)


async def test_a_redelivery_after_the_answer_changes_nothing(
    store: SqliteStore, pepper: Pepper, clock: FakeClock
) -> None:
    """Jasmin delivers again after a lost ACK: a duplicate, no code asked for, no MT."""
    worker = _requests(store, pepper, clock)
    assert (await worker.answer(_kod())).outcome == "reply"
    clock.advance(120)  # past the 1-a-minute limit: a second code would be allowed
    assert (await worker.answer(_kod())).outcome == "duplicate"
    assert len(await store.outbox(OPEN_RU.msisdn)) == 1
    snapshot = await store.load_codes(OPEN_RU.msisdn, Purpose.LOGIN, clock())
    assert snapshot.sends_last_10_minutes == 1
