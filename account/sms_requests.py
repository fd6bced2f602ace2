"""What a subscriber's SMS to our number comes to: the reply text, and for Jasmin the reply
MT in the outbox with the MO's receipt.

The first word picks a command of ``menus/sms.yaml`` (:mod:`sms.commands`): a login code,
or the help. A code asked for by SMS goes back in the reply
(``CodeService.request(…, channel=Channel.SMS)``). A foreign or alphanumeric sender gets the
generic help and no code; an unknown or refused number the same help a stranger gets.

Kannel puts the reply in its HTTP answer; Jasmin wants an MT, which is committed here with
the MO's receipt (a redelivery finds one only with the other) before the route
acknowledges. The HTTP route (``ussd_gateway/http/sms_mo.py``) only translates formats.

Jasmin may deliver one MO several times at once. In one process the deliveries of one id
take turns (a per-id lock), so a duplicate finds the receipt before it asks for a code: no
second code, no send-limit slot spent. Across processes the receipt's uniqueness decides:
the losing commit is a :class:`~state.errors.ConcurrentUpdate`, and the MO is then answered
as the duplicate it is (its code request has been committed by then: that one is spent).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from account.codes import CodeService, Purpose, RequestOutcome
from sms.commands import Action, Reply, SmsCommands
from sms.mo import MoMessage, MoSource
from state.credentials import Sealer
from state.errors import ConcurrentUpdate
from state.locks import KeyedLocks
from state.models import ChangeSet, Channel, MoReceipt, OutboxMessage
from state.store import CodeStore


@dataclass(frozen=True, slots=True)
class MoAnswer:
    """What one MO comes to: the reply text and how it was reached (for the log)."""

    text: str
    action: Action | None
    outcome: str
    """help, not_ours, duplicate, or the code request's outcome (reply, limited, …)."""
    holds_code: bool = False


class SmsRequests:
    """Answers subscribers' SMS requests (the MO route's decisions)."""

    def __init__(
        self,
        store: CodeStore,
        codes: CodeService,
        commands: SmsCommands,
        sealer: Sealer,
        *,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.store = store
        self.codes = codes
        self.commands = commands
        self.sealer = sealer
        self.clock = clock or codes.clock
        self._turns = KeyedLocks()
        """Per Jasmin MO id: its deliveries take turns."""

    async def answer(self, message: MoMessage) -> MoAnswer:
        """Decide the reply to ``message`` and, for Jasmin, commit it as an MT.

        Raises:
            StoreError: the store failed; nothing was committed (Jasmin delivers again).
        """
        async with self._turn(message):
            if await self._already_answered(message):
                return MoAnswer("", None, "duplicate")
            answer = await self._reply(message)
            if message.source is MoSource.JASMIN:
                try:
                    await self._queue_reply(message, answer, self.clock())
                except ConcurrentUpdate:
                    # Another process committed this MO's receipt first: a duplicate.
                    if await self._already_answered(message):
                        return MoAnswer("", None, "duplicate")
                    raise
            return answer

    @asynccontextmanager
    async def _turn(self, message: MoMessage) -> AsyncIterator[None]:
        """Deliveries of one Jasmin MO id, one at a time (others pass straight through)."""
        if message.source is not MoSource.JASMIN or not message.message_id:
            yield
            return
        async with self._turns.hold(f"{message.source}:{message.message_id}"):
            yield

    def help_text(self) -> str:
        """The generic help, for an MO that could not be read (no language known)."""
        return self.commands.reply(Reply.HELP, None)

    def unavailable_text(self) -> str:
        """The "temporarily unavailable" reply, for an MO the store could not answer."""
        return self.commands.reply(Reply.UNAVAILABLE, None)

    async def _reply(self, message: MoMessage) -> MoAnswer:
        commands = self.commands
        action = commands.match(message.text)
        if not message.sender_is_ours:
            return MoAnswer(commands.reply(Reply.HELP, None), action, "not_ours")
        subscriber = await self.store.get_subscriber(message.sender)
        lang = subscriber.lang if subscriber is not None else None
        if action is Action.HELP:
            return MoAnswer(commands.reply(Reply.HELP, lang), action, "help")
        result = await self.codes.request(message.sender, Purpose.LOGIN, channel=Channel.SMS)
        outcome = result.outcome
        if outcome is RequestOutcome.REPLY and result.code is not None:
            text = commands.reply(Reply.CODE, lang, code=result.code)
            return MoAnswer(text, action, str(outcome), holds_code=True)
        if outcome is RequestOutcome.LIMITED:
            text = commands.reply(Reply.LIMITED, lang, seconds=result.retry_after)
            return MoAnswer(text, action, str(outcome))
        if outcome is RequestOutcome.QUEUED:
            return MoAnswer(commands.reply(Reply.QUEUED, lang), action, str(outcome))
        # Unknown or refused: the same help a stranger gets.
        return MoAnswer(commands.reply(Reply.HELP, lang), action, str(outcome))

    async def _already_answered(self, message: MoMessage) -> bool:
        """A Jasmin redelivery of an MO we answered (its ACK was lost): acknowledge, no more."""
        if message.source is not MoSource.JASMIN or not message.message_id:
            return False
        return await self.store.mo_received(str(message.source), message.message_id)

    async def _queue_reply(self, message: MoMessage, answer: MoAnswer, now: float) -> None:
        """Jasmin's reply: an MT in the outbox, committed before the MO is acknowledged."""
        receipts: tuple[MoReceipt, ...] = ()
        if message.message_id:
            receipts = (MoReceipt(str(message.source), message.message_id, now),)
        if not message.sender_is_ours:
            # We send SMS only to our own numbers; the MO is still remembered as answered.
            if receipts:
                await self.store.commit(ChangeSet(mo_receipts=receipts))
            return
        if answer.holds_code:
            # Sealed in the outbox, and useless once the code is: it expires with it.
            row = OutboxMessage(
                message.sender,
                f"code:{Purpose.LOGIN}",
                self.sealer.seal(answer.text),
                now,
                expires_at=now + self.codes.policy.ttl,
            )
        else:
            row = OutboxMessage(message.sender, "mo_reply", answer.text, now)
        # The reply and the receipt commit together: a redelivery finds one only with the other.
        await self.store.commit(ChangeSet(outbox=(row,), mo_receipts=receipts))
