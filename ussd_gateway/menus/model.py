"""The model a menu machine runs on: the guards and actions its YAML names.

A model serves one hop at a time (``pool.py`` resets and reuses it for later hops). It
holds the subscriber's snapshot, the session's small data (attempt counters, the argon2
hash of a first password entry — never a plain secret), and collects the core's change
set, which the engine commits with the session's new position in one transaction.
Actions decide through ``state``; they never write.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from state import access, passwords
from state.access import PukOutcome
from state.credentials import PasswordHasher, Pepper
from state.models import ChangeSet, Channel, ClosedBy, Subscriber
from ussd_gateway.menus.messages import placeholders

PASSWORD_ATTEMPTS = 3
"""Policy violations and mismatches allowed in one ``*141*0#`` session (issue #2)."""


@dataclass(frozen=True, slots=True)
class HopServices:
    """What a hop's actions need besides the snapshot."""

    pepper: Pepper
    hasher: PasswordHasher
    now: float
    lock_alert: str
    """The alert SMS text, in the subscriber's language, queued if PUK1 gets locked."""


@dataclass(frozen=True, slots=True)
class Notice:
    """A message key (and its placeholders) to show above the next screen.

    The values a key may carry are listed once, in ``messages.py`` (``ACTION_NOTICES``):
    the menu checker holds every text to that list, so a value not on it is refused here.
    """

    key: str
    values: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.values and not self.values.keys() <= placeholders(self.key):
            unlisted = sorted(self.values.keys() - placeholders(self.key))
            raise ValueError(
                f"notice {self.key!r} carries {unlisted}, not listed in menus/messages.py"
            )


class MenuModel:
    """Guards and actions for the menu machines (names listed in ``callbacks.py``)."""

    def __init__(
        self,
        *,
        state: str | None,
        subscriber: Subscriber,
        data: dict[str, Any],
        services: HopServices,
    ) -> None:
        self.reset(state=state, subscriber=subscriber, data=data, services=services)

    def reset(
        self,
        *,
        state: str | None,
        subscriber: Subscriber,
        data: dict[str, Any],
        services: HopServices,
    ) -> None:
        """Start a new hop on this model (a pooled one keeps its identity: the machine's
        callbacks are bound to it)."""
        self.state = state
        self.subscriber = subscriber
        self.data = data
        self.services = services
        self.changes = ChangeSet()
        self.notice: Notice | None = None
        self._outcome: str | None = None

    # --- guards ------------------------------------------------------------------
    # Properties: the machine reads them as attributes, with no call signature to bind.

    @property
    def access_is_open(self) -> bool:
        """Access is open."""
        return self.subscriber.access_open

    @property
    def subscriber_closed_access(self) -> bool:
        """The subscriber closed access (and so may reopen it)."""
        return self.subscriber.closed_by is ClosedBy.SUBSCRIBER

    @property
    def organisation_closed_access(self) -> bool:
        """The subscriber's organisation closed access."""
        return self.subscriber.closed_by is ClosedBy.ORGANISATION

    @property
    def operator_closed_access(self) -> bool:
        """The operator closed access."""
        return self.subscriber.closed_by is ClosedBy.OPERATOR

    @property
    def opening_is_locked(self) -> bool:
        """Five wrong PUK1s locked opening."""
        return self.subscriber.puk_locked

    @property
    def puk_was_accepted(self) -> bool:
        """The PUK1 just typed opened access."""
        return self._outcome == PukOutcome.ACCEPTED

    @property
    def this_puk_locked_opening(self) -> bool:
        """The PUK1 just typed was the 5th wrong one in a row."""
        return self._outcome == PukOutcome.LOCKED_NOW

    @property
    def password_was_proposed(self) -> bool:
        """The first password entry passed the policy."""
        return self._outcome == "proposed"

    @property
    def password_was_set(self) -> bool:
        """The confirmation matched and the password is set."""
        return self._outcome == "set"

    @property
    def attempts_are_exhausted(self) -> bool:
        """No password attempts are left in this session."""
        return int(self.data.get("attempts", 0)) >= PASSWORD_ATTEMPTS

    # --- actions -----------------------------------------------------------------

    def _take(self, subscriber: Subscriber, changes: ChangeSet) -> None:
        self.subscriber = subscriber
        self.changes = self.changes + changes

    def close_access(self) -> None:
        """The subscriber closes access."""
        decision = access.close_access(
            self.subscriber,
            by=ClosedBy.SUBSCRIBER,
            actor="subscriber",
            channel=Channel.USSD,
            reason=None,
            now=self.services.now,
        )
        self._take(decision.subscriber, decision.changes)

    def verify_puk(self, text: str = "") -> None:
        """The subscriber reopens access with PUK1."""
        decision = access.open_with_puk(
            self.subscriber,
            text,
            pepper=self.services.pepper,
            channel=Channel.USSD,
            now=self.services.now,
            lock_alert=self.services.lock_alert,
        )
        self._take(decision.subscriber, decision.changes)
        self._outcome = decision.outcome
        if decision.outcome == PukOutcome.WRONG:
            self.notice = Notice("wrong_puk", {"attempts_left": decision.attempts_left})

    async def propose_password(self, text: str = "") -> None:
        """First entry: check the policy, keep only its hash until confirmed."""
        violation = passwords.check_password(text, self.subscriber.msisdn)
        if violation is not None:
            self._fail(violation.value)
            return
        self.data["pending"] = await self.services.hasher.hash(passwords.normalize_password(text))
        self._outcome = "proposed"

    async def confirm_password(self, text: str = "") -> None:
        """Second entry: if it matches the first, the pending hash becomes the password."""
        pending = self.data.pop("pending", None)
        candidate = passwords.normalize_password(text)
        if not pending or not await self.services.hasher.verify(pending, candidate):
            self._fail("password_mismatch")
            return
        after, changes = passwords.set_password(
            self.subscriber,
            pending,
            actor="subscriber",
            channel=Channel.USSD,
            now=self.services.now,
        )
        self._take(after, changes)
        self._outcome = "set"

    def _fail(self, message_key: str) -> None:
        self.data["attempts"] = int(self.data.get("attempts", 0)) + 1
        self.notice = Notice(message_key)
