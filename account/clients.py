"""A client's administration by its administrator or supervisor: its subscribers, their
access, the administrator role and "registration by PUK1" (seed 001 §1.2, §1.4).

The core decides who may manage whom (``state/roles.py``, ``state/access.py``); every change
commits together with the caller's session (``account/sessions.py``), so it is annulled if
that session ended meanwhile. A number outside the caller's reach is :class:`UnknownTarget`,
whether it exists or not.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from account.errors import Forbidden, NotPermitted, UnknownTarget
from account.proofs import Proofs
from account.sessions import Context, Sessions
from state import access, roles
from state.access import Decision
from state.models import ChangeSet, Channel, ClosedBy, Role, Subscriber


@dataclass(frozen=True, slots=True)
class SubscriberView:
    """What an administrator or supervisor sees of a subscriber of the client."""

    msisdn: str
    access_open: bool
    closed_by: str | None
    role: str | None
    puk_registration: bool
    has_password: bool


def _require_role(ctx: Context) -> Role:
    if ctx.role is None:
        raise Forbidden("only the account's administrator or supervisor may do this")
    return ctx.role


class Clients:
    """What a client's administrator or supervisor does with the client's subscribers."""

    def __init__(self, proofs: Proofs, sessions: Sessions) -> None:
        self.proofs = proofs
        self.sessions = sessions

    async def subscribers(self, ctx: Context) -> list[SubscriberView]:
        """The client's subscribers, for its administrator or supervisor."""
        _require_role(ctx)
        subs = await self.proofs.store.client_subscribers(ctx.client.id)
        await self.sessions.touch(ctx)
        return [
            SubscriberView(
                s.msisdn,
                s.access_open,
                str(s.closed_by) if s.closed_by else None,
                str(r) if (r := roles.effective_role(s, ctx.client, len(subs))) else None,
                s.puk_registration,
                s.has_password,
            )
            for s in subs
        ]

    async def _target(self, ctx: Context, msisdn: str) -> Subscriber:
        _require_role(ctx)
        target = await self.proofs.store.get_subscriber(msisdn)
        if target is None or not roles.manages(ctx.subscriber, ctx.role, target):
            raise UnknownTarget
        return target

    async def _on_target(
        self, ctx: Context, msisdn: str, decide: Callable[[Subscriber, float], Decision]
    ) -> str:
        """Decide on a subscriber of the caller's client and commit it in the session."""

        async def build() -> tuple[str, ChangeSet]:
            decision = decide(await self._target(ctx, msisdn), self.proofs.clock())
            return str(decision.outcome), decision.changes

        return await self.sessions.in_session(ctx, build)

    async def set_access(self, ctx: Context, msisdn: str, *, open_: bool) -> str:
        """Close or open a subscriber's access on the organisation's behalf (§1.2.3–1.2.4)."""
        change = access.open_access if open_ else access.close_access

        def decide(target: Subscriber, now: float) -> Decision:
            decision = change(
                target,
                by=ClosedBy.ORGANISATION,
                actor=ctx.subscriber.msisdn,
                channel=Channel.WEB,
                reason="organisation",
                now=now,
            )
            if decision.outcome == access.AccessOutcome.NOT_PERMITTED:
                raise NotPermitted(
                    "access was closed by the operator; only the operator can open it"
                )
            return decision

        return await self._on_target(ctx, msisdn, decide)

    async def grant_administrator(self, ctx: Context, msisdn: str) -> str:
        """Make another subscriber of the same client an administrator (§1.2.2)."""

        def decide(target: Subscriber, now: float) -> Decision:
            decision = roles.set_role(
                target,
                ctx.client,
                Role.ADMINISTRATOR,
                actor=ctx.subscriber.msisdn,
                channel=Channel.WEB,
                now=now,
            )
            if decision.outcome == roles.RoleOutcome.NOT_ELIGIBLE:
                raise NotPermitted(
                    "administrators exist only for legal entities and sole proprietors"
                )
            return decision

        return await self._on_target(ctx, msisdn, decide)

    async def set_puk_registration(self, ctx: Context, msisdn: str, enabled: bool) -> str:
        """The client's administrator switches "registration by PUK1" (seed 001 §1.4 names
        the administrator, not the supervisor)."""
        if ctx.role is not Role.ADMINISTRATOR:
            raise Forbidden("only the account's administrator may switch registration by PUK1")
        return await self._on_target(
            ctx,
            msisdn,
            lambda target, now: roles.set_puk_registration(
                target, enabled, actor=ctx.subscriber.msisdn, channel=Channel.WEB, now=now
            ),
        )
