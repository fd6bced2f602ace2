"""The model a menu machine runs on: the guards and actions its YAML names.

A model serves one hop at a time (``pool.py`` resets and reuses it for later hops). It
holds the subscriber's snapshot, the session's small data (attempt counters, the argon2
hash of a first password entry — never a plain secret), and collects the core's change
set, which the engine commits with the session's new position in one transaction.
Actions decide through ``state``; they never write.

A menu's own guards (its ``guards`` section) and back-end calls (its ``calls``) become
members of a model class of that menu (``authored.py``), so the machine resolves them by
name once, as it does the built-in ones. Saved values live
in the session's data under ``values.KEY``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from state import access, passwords
from state.access import PukOutcome
from state.credentials import PasswordHasher, Pepper
from state.models import ChangeSet, Channel, ClosedBy, Subscriber
from ussd_gateway.menus.calls import (
    CallContext,
    Caller,
    CallOutcome,
    CallSpec,
    NoBackends,
    OnFailure,
)
from ussd_gateway.menus.messages import placeholders
from ussd_gateway.menus.values import KEY, REFUSAL, template_values

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
    lang: str = "ru"
    """The session's language (what ``{lang}`` reads)."""
    caller: Caller = field(default_factory=NoBackends)
    hop_id: str = ""
    """The session and the hop's number: what a call's idempotency key is derived from."""
    deadline: float = float("inf")
    """``time.monotonic()`` by which the hop must answer (its back-end calls share it)."""


class BackendUnavailable(Exception):
    """A back-end call failed and its menu did not branch on it: the hop ends with the
    apology and commits nothing of what the machine had decided."""

    def __init__(self, call: str) -> None:
        super().__init__(f"back-end call {call!r} failed")
        self.call = call


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
        self._call: CallOutcome | None = None
        self._values: dict[str, Any] | None = None
        if KEY in data:  # its own copy: the session as read stays as read
            data[KEY] = dict(data[KEY])

    @property
    def saved(self) -> dict[str, Any]:
        """The session's saved values (read only: :meth:`save` writes)."""
        values: dict[str, Any] = self.data.get(KEY) or {}
        return values

    def values(self) -> dict[str, Any]:
        """What this hop's texts, paths and guards read (gathered once until a save: an
        eventless state may ask several guards in a row)."""
        if self._values is None:
            self._values = template_values(
                self.saved, msisdn=self.subscriber.msisdn, lang=self.services.lang
            )
        return self._values

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
    def call_succeeded(self) -> bool:
        """The hop's last back-end call answered, and its fields were saved."""
        return self._call is CallOutcome.OK

    @property
    def call_refused(self) -> bool:
        """The hop's last back-end call was refused (its reason is ``{refusal}``)."""
        return self._call is CallOutcome.REFUSED

    @property
    def call_failed(self) -> bool:
        """The hop's last back-end call failed (a call with ``on_failure: branch``)."""
        return self._call is CallOutcome.FAILED

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

    def save(self, name: str, value: Any) -> None:
        """Keep ``value`` under ``name`` for the rest of the session."""
        self.data.setdefault(KEY, {})[name] = value
        self._values = None

    async def _run_call(self, spec: CallSpec) -> None:
        services = self.services
        key = services.pepper.tag("idempotency", f"{services.hop_id}:{spec.name}")
        context = CallContext(idempotency_key=key[:32], deadline=services.deadline)
        result = await services.caller.call(spec, self.values(), context)
        self._call = result.outcome
        if result.outcome is CallOutcome.OK:
            for name, value in result.saved.items():
                self.save(name, value)
            self.save(REFUSAL, None)
        elif result.outcome is CallOutcome.REFUSED:
            self.save(REFUSAL, result.reason)
        elif spec.on_failure is OnFailure.END:
            raise BackendUnavailable(spec.name)
