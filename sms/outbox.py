"""The outbox worker: sends what the core committed, once, with retries.

Every SMS is committed to the outbox (with the change that caused it) before anything is
sent; this worker then leases due messages (``OutboxStore.claim_outbox``), sends them, and
records each result (``OutboxStore.finish_outbox``). A message whose process dies between commit
and send is simply still due when a worker next looks: it is sent after the restart.

Exactly once, as far as HTTP allows: a leased message is invisible to every other worker
and process until its lease runs out, and each send is cut off at half the lease, so its
result is always written while the lease still holds. Only a crash *during* a send (the
SMSC took it, we died before writing ``sent``) can send it again after the lease.

Per message: expired (``expires_at`` passed) → ``failed``/``expired``, never sent; a
sealed body is opened with the :class:`~state.credentials.Sealer` just before sending (the
stored body stays sealed; no plain text is written anywhere); a text over
``max_segments`` SMS → ``failed``/``too_long`` (never truncated); accepted → ``sent``
with the provider's reference; a retryable failure → ``pending`` again after the next
backoff step; a non-retryable failure, or the ``max_attempts``-th → ``failed``.

One log line per send attempt: message id, kind, outcome, attempt and the masked number,
never the body. The same events go to a :class:`~sms.counters.SendCounters` (the service's
metrics: sends by sender and result, retries, whether the SMSC answers).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable, Sequence

import structlog

from sms.counters import NO_COUNTERS, SendCounters
from sms.segments import TooLong, check_fits
from sms.senders.base import Sender, SendResult
from state.credentials import Sealer
from state.errors import StoreError
from state.msisdn import mask_msisdn
from state.store import OutboxRow, OutboxStore

log = structlog.get_logger("sms.outbox")

DEFAULT_BACKOFF: tuple[float, ...] = (5, 15, 60, 300, 900)
"""Seconds before the 2nd, 3rd, … attempt; the last step repeats."""


class OutboxWorker:
    """Sends due outbox messages through one :class:`~sms.senders.base.Sender`.

    Several workers (in one process or many, on one database) may run at once: leases
    keep each message to one of them at a time.
    """

    def __init__(
        self,
        store: OutboxStore,
        sender: Sender,
        sealer: Sealer,
        *,
        clock: Callable[[], float],
        max_segments: int,
        lease: float = 30.0,
        batch: int = 20,
        max_attempts: int = 6,
        backoff: Sequence[float] = DEFAULT_BACKOFF,
        counters: SendCounters = NO_COUNTERS,
    ) -> None:
        if lease <= 0 or batch < 1 or max_attempts < 1 or max_segments < 1:
            raise ValueError("lease, batch, max_attempts and max_segments must be positive")
        if not backoff or any(step <= 0 for step in backoff):
            raise ValueError("backoff needs at least one positive step")
        self._store = store
        self._sender = sender
        self._sealer = sealer
        self._clock = clock
        self._max_segments = max_segments
        self._lease = lease
        self._batch = batch
        self._max_attempts = max_attempts
        self._backoff = tuple(backoff)
        self._counters = counters
        self.sender_name: str = getattr(sender, "name", "") or type(sender).__name__.lower()
        """The sender's label in the counters: ``kannel``, ``jasmin`` or ``file``."""

    @property
    def send_timeout(self) -> float:
        """The longest one send may take: half the lease, so its result is written
        before any other worker could lease the message again."""
        return self._lease / 2

    async def run_once(self) -> int:
        """Lease the due messages (up to ``batch``), handle each; how many were leased."""
        rows = await self._store.claim_outbox(self._clock(), limit=self._batch, lease=self._lease)
        if rows:
            await asyncio.gather(*(self._handle(row) for row in rows))
        return len(rows)

    async def run(self, stop: asyncio.Event, idle_sleep: float = 1.0) -> None:
        """Send until ``stop`` is set; sleep ``idle_sleep`` when nothing is due.

        A store failure is logged and retried after ``idle_sleep``. Setting ``stop`` lets
        the batch in hand finish (the graceful way to shut down); cancelling abandons it
        and its messages become due again when their lease runs out.

        Each sleep is ``idle_sleep`` ± 50 %, at random: workers of instances started
        together would otherwise wake in step, and the first to claim would take every
        batch while the others found nothing (still exactly once, but not spread).
        """
        while not stop.is_set():
            try:
                handled = await self.run_once()
            except StoreError as exc:  # an outage: one line a poll, not a traceback each
                log.warning("outbox_claim_failed", error=exc.__class__.__name__)
                handled = 0
            if handled == 0:
                pause = idle_sleep * (0.5 + random.random())  # noqa: S311 - not a secret
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), pause)

    async def _handle(self, row: OutboxRow) -> None:
        try:
            await self._process(row)
        except StoreError:
            # The lease runs out and the message is tried again.
            log.exception("outbox_finish_failed", message_id=row.id, kind=row.kind)

    async def _process(self, row: OutboxRow) -> None:
        now = self._clock()
        if row.expires_at is not None and now >= row.expires_at:
            await self._finish(row, "failed", "expired", now=now)
            return
        try:
            text = self._sealer.open(row.body)
        except ValueError:
            # Sealed under another key or damaged: no retry will open it.
            await self._finish(row, "failed", "unreadable", now=now)
            return
        try:
            counted = check_fits(text, self._max_segments)
        except TooLong as exc:
            await self._finish(row, "failed", "too_long", now=now, segments=exc.segments)
            return
        result = await self._send(row, text)
        now = self._clock()
        if result.accepted:
            await self._finish(
                row,
                "sent",
                "accepted",
                now=now,
                provider_ref=result.provider_ref,
                detail=result.detail,
                segments=counted.segments,
            )
            return
        retry_at = now + self._backoff[min(row.attempts, len(self._backoff)) - 1]
        if not result.retryable:
            await self._finish(row, "failed", "rejected", now=now, detail=result.detail)
        elif row.attempts >= self._max_attempts:
            await self._finish(row, "failed", "gave_up", now=now, detail=result.detail)
        elif row.expires_at is not None and retry_at >= row.expires_at:
            await self._finish(row, "failed", "expired", now=now, detail=result.detail)
        else:
            await self._finish(
                row, "pending", "retry", now=now, detail=result.detail, retry_at=retry_at
            )

    async def _send(self, row: OutboxRow, text: str) -> SendResult:
        started = time.perf_counter()
        result = await self._attempt(row, text)
        self._counters.send_attempted(
            self.sender_name,
            accepted=result.accepted,
            attempt=row.attempts,
            seconds=time.perf_counter() - started,
            detail=result.detail,
        )
        return result

    async def _attempt(self, row: OutboxRow, text: str) -> SendResult:
        try:
            async with asyncio.timeout(self.send_timeout):
                return await self._sender.send(row.msisdn, text, message_id=row.id)
        except TimeoutError:
            return SendResult(False, retryable=True, detail="timeout")
        except Exception as exc:  # a sender bug must not stop the worker
            # Only the class: a message could hold the URL, and with it a password.
            return SendResult(False, retryable=True, detail=f"error: {type(exc).__name__}")

    async def _finish(
        self,
        row: OutboxRow,
        status: str,
        outcome: str,
        *,
        now: float,
        detail: str = "",
        provider_ref: str | None = None,
        retry_at: float | None = None,
        segments: int | None = None,
    ) -> None:
        stored = outcome if not detail or status == "sent" else f"{outcome}: {detail}"
        await self._store.finish_outbox(
            row.id,
            status=status,
            now=now,
            result=stored,
            provider_ref=provider_ref,
            retry_at=retry_at,
        )
        self._counters.send_finished(self.sender_name, outcome)
        log.info(
            "sms_send",
            message_id=row.id,
            kind=row.kind,
            outcome=outcome,
            status=status,
            attempt=row.attempts,
            msisdn=mask_msisdn(row.msisdn),
            detail=detail or None,
            provider_ref=provider_ref,
            segments=segments,
            retry_in=round(retry_at - now, 1) if retry_at is not None else None,
        )
