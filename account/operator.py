"""Operator-side account operations: read, close, open, unlock — each one unit of work.

The USSD engine commits its decisions together with the session's position; these are
for callers without a session (the admin CLI now, the operator API later). Each reads a
snapshot, decides with ``state/access.py`` and commits, retrying if the row moved.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from state import access, roles
from state.access import Decision
from state.errors import UnknownSubscriber
from state.models import Channel, ClosedBy, Role, Subscriber
from state.msisdn import normalize_msisdn
from state.retry import retry_conflicts
from state.store import OperatorStore

Clock = Callable[[], float]


@dataclass
class AccountService:
    """Account operations on behalf of an operator, organisation or system."""

    store: OperatorStore
    clock: Clock = time.time

    async def subscriber(self, raw_msisdn: str) -> Subscriber:
        """The subscriber for any accepted spelling of its number.

        Raises:
            InvalidMsisdn: a malformed number.
            UnknownSubscriber: no such subscriber.
        """
        msisdn = normalize_msisdn(raw_msisdn)
        sub = await self.store.get_subscriber(msisdn)
        if sub is None:
            raise UnknownSubscriber(f"no subscriber {msisdn}")
        return sub

    async def _decide(self, raw_msisdn: str, decide: Callable[[Subscriber], Decision]) -> Decision:
        """Read, decide and commit, again on a conflict.

        Raises:
            KeptConflicting: the subscriber kept changing under every attempt.
        """

        async def attempt() -> Decision:
            decision = decide(await self.subscriber(raw_msisdn))
            if not decision.changes.empty:
                await self.store.commit(decision.changes)
            return decision

        return await retry_conflicts(attempt, what="the subscriber")

    async def close_access(
        self, msisdn: str, *, by: ClosedBy, actor: str, channel: Channel, reason: str | None
    ) -> Decision:
        """Close access on behalf of ``by``."""
        return await self._decide(
            msisdn,
            lambda s: access.close_access(
                s, by=by, actor=actor, channel=channel, reason=reason, now=self.clock()
            ),
        )

    async def open_access(
        self, msisdn: str, *, by: ClosedBy, actor: str, channel: Channel, reason: str | None
    ) -> Decision:
        """Lift a closure of the same or a lower source than ``by``."""
        return await self._decide(
            msisdn,
            lambda s: access.open_access(
                s, by=by, actor=actor, channel=channel, reason=reason, now=self.clock()
            ),
        )

    async def set_role(
        self, msisdn: str, role: Role | None, *, actor: str, channel: Channel
    ) -> Decision:
        """Grant (or with None revoke) a role on the client's application."""
        sub = await self.subscriber(msisdn)
        client = await self.store.get_client(sub.client_id)
        if client is None:
            raise UnknownSubscriber(f"no client for {sub.msisdn}")
        return await self._decide(
            msisdn,
            lambda s: roles.set_role(
                s, client, role, actor=actor, channel=channel, now=self.clock()
            ),
        )

    async def unlock_puk(self, msisdn: str, *, actor: str, channel: Channel) -> Decision:
        """Lift a PUK1 lock and clear the failure counter."""
        return await self._decide(
            msisdn, lambda s: access.unlock_puk(s, actor=actor, channel=channel, now=self.clock())
        )
