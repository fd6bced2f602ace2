"""Roles (seed 001 §1.2) and web-session lifetimes (§1.9) as pure decisions."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from state import roles
from state.models import (
    Activity,
    Channel,
    Client,
    ClientKind,
    ClosedBy,
    Role,
    Subscriber,
    WebSession,
)
from state.websessions import EndReason, SessionTimes, ended, touched, why_over

T = 1_800_000_000.0


def sub(msisdn: str = "375291112233", client_id: int = 1, role: Role | None = None) -> Subscriber:
    return Subscriber(msisdn, client_id, ClientKind.LEGAL_ENTITY, "ru", None, None, None, 0, None,
                      None, 0, b"\0" * 32, None, role=role)


def client(kind: ClientKind = ClientKind.LEGAL_ENTITY, fee: bool = False, activity: Activity | None = None) -> Client:
    return Client(1, kind, "c", subscription_fee=fee, activity=activity)


@pytest.mark.parametrize(
    ("kind", "count", "role", "fee", "expected"),
    [
        (ClientKind.LEGAL_ENTITY, 1, None, False, Role.ADMINISTRATOR),  # the single subscriber
        (ClientKind.SOLE_PROPRIETOR, 1, None, False, Role.ADMINISTRATOR),
        (ClientKind.LEGAL_ENTITY, 2, None, False, None),
        (ClientKind.INDIVIDUAL, 1, None, True, None),
        (ClientKind.INDIVIDUAL, 1, Role.ADMINISTRATOR, True, None),  # not for individuals
        (ClientKind.INDIVIDUAL, 1, Role.SUPERVISOR, True, Role.SUPERVISOR),
        (ClientKind.LEGAL_ENTITY, 3, Role.SUPERVISOR, False, None),  # no fee: no supervisor
        (ClientKind.LEGAL_ENTITY, 3, Role.ADMINISTRATOR, False, Role.ADMINISTRATOR),
    ],
)
def test_effective_role(kind: ClientKind, count: int, role: Role | None, fee: bool, expected: Role | None) -> None:
    assert roles.effective_role(sub(role=role), client(kind, fee), count) is expected


def test_set_role_audits_and_refuses_the_ineligible() -> None:
    decision = roles.set_role(sub(), client(), Role.ADMINISTRATOR, actor="375291112244", channel=Channel.WEB, now=T)
    assert decision.outcome == roles.RoleOutcome.GRANTED
    (entry,) = decision.changes.audit
    assert (entry.action, entry.actor, entry.channel, entry.at) == ("role_granted", "375291112244", Channel.WEB, T)
    refused = roles.set_role(sub(), client(ClientKind.INDIVIDUAL), Role.ADMINISTRATOR, actor="x",
                             channel=Channel.WEB, now=T)
    assert refused.outcome == roles.RoleOutcome.NOT_ELIGIBLE and refused.changes.empty


def test_manages_only_the_same_client() -> None:
    admin = sub(role=Role.ADMINISTRATOR)
    assert roles.manages(admin, Role.ADMINISTRATOR, sub("375291112244"))
    assert not roles.manages(admin, Role.ADMINISTRATOR, sub("375291112244", client_id=2))
    assert not roles.manages(admin, None, sub("375291112244"))


def test_email_login_eligibility() -> None:
    assert client(ClientKind.LEGAL_ENTITY).email_login_allowed
    assert client(ClientKind.SOLE_PROPRIETOR).email_login_allowed
    assert client(ClientKind.INDIVIDUAL, activity=Activity.SELF_EMPLOYED).email_login_allowed
    assert not client(ClientKind.INDIVIDUAL).email_login_allowed


def session(created: float = T, seen: float = T, credential_at: float | None = None) -> WebSession:
    return WebSession(b"\1" * 32, "375291112233", "password", created, seen, credential_at=credential_at)


@given(idle=st.floats(0, 2000), age=st.floats(0, 4000))
def test_sessions_live_exactly_while_under_both_limits(idle: float, age: float) -> None:
    """Over at ≥ 600 s idle or ≥ 1800 s in all, whatever the activity; alive otherwise."""
    idle = min(idle, age)
    now = T + age
    s = session(created=T, seen=now - idle)
    reason = why_over(s, sub(), client(), now, SessionTimes())
    if idle >= 600:
        assert reason is EndReason.IDLE
    elif age >= 1800:
        assert reason is EndReason.TOTAL
    else:
        assert reason is None


def test_password_change_and_closure_end_a_session() -> None:
    s = session(credential_at=None)
    assert why_over(s, replace(sub(), password_changed_at=T + 1), client(), T + 2, SessionTimes()) is EndReason.PASSWORD_CHANGED
    changed_account = replace(client(), account_password_changed_at=T + 1)
    assert why_over(s, sub(), changed_account, T + 2, SessionTimes()) is EndReason.PASSWORD_CHANGED
    closed = replace(sub(), closed_by=ClosedBy.SUBSCRIBER)
    assert why_over(s, closed, client(), T + 2, SessionTimes()) is EndReason.ACCESS_CLOSED
    assert why_over(s, None, None, T + 2, SessionTimes()) is EndReason.GONE
    assert why_over(ended(s, EndReason.LOGOUT, T), sub(), client(), T, SessionTimes()) is EndReason.LOGOUT


def test_touch_and_end_advance_the_version() -> None:
    s = session()
    assert touched(s, T + 5).version == 1 and touched(s, T + 5).last_seen_at == T + 5
    assert ended(s, EndReason.LOGOUT, T + 5).version == 1
