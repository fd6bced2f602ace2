"""Who may manage whom in a client's account (seed 001 §1.2).

- Administrator: only for legal entities and sole proprietors; the single subscriber of
  such a client is administrator by default (§1.2.1).
- Supervisor: granted on the client's application, for clients with a subscription fee.
- Administrators and supervisors list their client's subscribers, close and open their
  access (an organisation closure, §1.2.3–1.2.4) and grant administrator rights to another
  subscriber of the same client (§1.2.2) — never beyond their own client.

Pure decisions, like ``state/access.py``: snapshots in, a change set out.
"""

from __future__ import annotations

import enum
from dataclasses import replace

from state.access import Decision
from state.models import BUSINESS_KINDS, AuditEntry, ChangeSet, Channel, Client, Role, Subscriber


class RoleOutcome(enum.StrEnum):
    """What a role change came to."""

    GRANTED = "granted"
    REVOKED = "revoked"
    UNCHANGED = "unchanged"
    NOT_ELIGIBLE = "not_eligible"
    """The client's kind or tariff does not allow this role."""


def effective_role(sub: Subscriber, client: Client, subscribers_of_client: int) -> Role | None:
    """The role the subscriber holds now, including the single subscriber's default."""
    if sub.role is Role.ADMINISTRATOR and client.kind in BUSINESS_KINDS:
        return Role.ADMINISTRATOR
    if sub.role is Role.SUPERVISOR and client.subscription_fee:
        return Role.SUPERVISOR
    if client.kind in BUSINESS_KINDS and subscribers_of_client == 1:
        return Role.ADMINISTRATOR
    return None


def eligible(role: Role, client: Client) -> bool:
    """Whether a subscriber of ``client`` may hold ``role`` at all."""
    if role is Role.ADMINISTRATOR:
        return client.kind in BUSINESS_KINDS
    return client.subscription_fee


def manages(actor: Subscriber, actor_role: Role | None, target: Subscriber) -> bool:
    """Whether ``actor`` may manage ``target``: a role, and the same client."""
    return actor_role is not None and actor.client_id == target.client_id


def set_role(
    sub: Subscriber,
    client: Client,
    role: Role | None,
    *,
    actor: str,
    channel: Channel,
    now: float,
) -> Decision:
    """Grant ``role`` (or revoke with None) if the client allows it."""
    if role is not None and not eligible(role, client):
        return Decision(RoleOutcome.NOT_ELIGIBLE, sub)
    if sub.role is role:
        return Decision(RoleOutcome.UNCHANGED, sub)
    after = replace(sub, role=role, version=sub.version + 1)
    action = "role_granted" if role is not None else "role_revoked"
    detail = {"role": str(role or sub.role)}
    entry = AuditEntry(sub.msisdn, action, actor, channel, now, detail)
    outcome = RoleOutcome.GRANTED if role is not None else RoleOutcome.REVOKED
    return Decision(outcome, after, ChangeSet.write(sub, after, entry))


def set_puk_registration(
    sub: Subscriber, enabled: bool, *, actor: str, channel: Channel, now: float
) -> Decision:
    """Switch the "registration by PUK1" option (sales centre or the client's administrator)."""
    if sub.puk_registration is enabled:
        return Decision(RoleOutcome.UNCHANGED, sub)
    after = replace(sub, puk_registration=enabled, version=sub.version + 1)
    entry = AuditEntry(
        sub.msisdn, "puk_registration_set", actor, channel, now, {"enabled": enabled}
    )
    return Decision("enabled" if enabled else "disabled", after, ChangeSet.write(sub, after, entry))
