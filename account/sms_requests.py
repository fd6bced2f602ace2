"""What a subscriber's SMS to our number comes to: the reply text, and for Jasmin the reply
MT in the outbox with the MO's receipt.

The first word picks a command of ``menus/sms.yaml`` (:mod:`sms.commands`): a login code,
or the help. A code asked for by SMS goes back in the reply
(``CodeService.request(…, channel=Channel.SMS)``). A foreign or alphanumeric sender gets the
generic help and no code; an unknown or refused number the same help a stranger gets.

Kannel puts the reply in its HTTP answer; Jasmin wants an MT, which is committed here with
the MO's receipt (a redelivery finds one only with the other) before the route
acknowledges. The HTTP route (``ussd_gateway/http/sms_mo.py``) only translates formats.

Jasmin may deliver one MO several times at once. The code request, the reply MT and the
MO's receipt are one change set: whichever delivery commits first answers, and the others
find its receipt. In one process the deliveries of one id take turns (a per-id lock), so a
duplicate finds the receipt before it reads anything else. Across processes the receipt's
uniqueness decides (the store's rule 6): the losing commit is a
:class:`~state.errors.ConcurrentUpdate` that wrote nothing — no code replaced, no send slot
spent — and its next round finds the receipt and answers the duplicate. The code in the
winner's reply is the number's live code.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from account.codes import CodeIssue, CodeService, Purpose, RequestOutcome
from sms.commands import Action, Reply, SmsCommands
from sms.mo import MoMessage, MoSource
from state.credentials import Sealer
from state.locks import KeyedLocks
from state.models import ChangeSet, Channel, MoReceipt, OutboxMessage
from state.retry import retry_conflicts
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
            KeptConflicting: requests from this number kept colliding on every attempt.
        """
        async with self._turn(message):
            return await retry_conflicts(
                lambda: self._answer_once(message), what="SMS requests from this number"
            )

    async def _answer_once(self, message: MoMessage) -> MoAnswer:
        """Read, decide, commit once: the code, the reply MT and the receipt in one change
        set. When another process commits a duplicate's receipt first, ours conflicts and
        nothing of it is written (no code replaced, no send slot spent); the next round
        finds the receipt and answers the duplicate."""
        if await self._already_answered(message):
            return MoAnswer("", None, "duplicate")
        answer, issue = await self._decide(message)
        changes = issue.changes if issue is not None else ChangeSet()
        if message.source is MoSource.JASMIN:
            changes = changes + self._reply_changes(message, answer, self.clock())
        if not changes.empty:
            await self.store.commit(changes)
        if issue is not None:
            self.codes.record(Purpose.LOGIN, issue.result)
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

    async def _decide(self, message: MoMessage) -> tuple[MoAnswer, CodeIssue | None]:
        """The reply to ``message``, and the code request it makes (not yet committed)."""
        commands = self.commands
        action = commands.match(message.text)
        if not message.sender_is_ours:
            return MoAnswer(commands.reply(Reply.HELP, None), action, "not_ours"), None
        subscriber = await self.store.get_subscriber(message.sender)
        lang = subscriber.lang if subscriber is not None else None
        if action is Action.HELP:
            return MoAnswer(commands.reply(Reply.HELP, lang), action, "help"), None
        issue = await self.codes.decide(message.sender, Purpose.LOGIN, channel=Channel.SMS)
        result = issue.result
        outcome = str(result.outcome)
        if result.outcome is RequestOutcome.REPLY and result.code is not None:
            text = commands.reply(Reply.CODE, lang, code=result.code)
            return MoAnswer(text, action, outcome, holds_code=True), issue
        if result.outcome is RequestOutcome.LIMITED:
            text = commands.reply(Reply.LIMITED, lang, seconds=result.retry_after)
            return MoAnswer(text, action, outcome), issue
        if result.outcome is RequestOutcome.QUEUED:
            return MoAnswer(commands.reply(Reply.QUEUED, lang), action, outcome), issue
        # Unknown or refused: the same help a stranger gets.
        return MoAnswer(commands.reply(Reply.HELP, lang), action, outcome), issue

    async def _already_answered(self, message: MoMessage) -> bool:
        """A Jasmin redelivery of an MO we answered (its ACK was lost): acknowledge, no more."""
        if message.source is not MoSource.JASMIN or not message.message_id:
            return False
        return await self.store.mo_received(str(message.source), message.message_id)

    def _reply_changes(self, message: MoMessage, answer: MoAnswer, now: float) -> ChangeSet:
        """Jasmin's reply: an MT in the outbox, with the MO's receipt (a redelivery finds
        one only with the other), committed before the MO is acknowledged."""
        receipts: tuple[MoReceipt, ...] = ()
        if message.message_id:
            receipts = (MoReceipt(str(message.source), message.message_id, now),)
        if not message.sender_is_ours:
            # We send SMS only to our own numbers; the MO is still remembered as answered.
            return ChangeSet(mo_receipts=receipts)
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
        return ChangeSet(outbox=(row,), mo_receipts=receipts)
