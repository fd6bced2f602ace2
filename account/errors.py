"""The account's refusals: what was refused and why, as data; no HTTP status.

The HTTP layer maps each class to its answer once (``ussd_gateway/http/errors.py``).
Failures that could tell a stranger whether a number or account exists all become one
:class:`InvalidCredentials`; the others are said only once the caller has proven who it is
(a right password, code or PUK1), so they reveal nothing to anyone else.

AccountError
├── InvalidCredentials        wrong, expired or used credentials, or nobody by that number
├── InvalidCode               a one-time code that does not verify (the codes API's one answer)
├── SessionOver               no session, or it ended (``reason``)
├── AccessClosed              access is closed (``closed_by``)
├── PasswordChangeRequired    a new password must be set first
├── Forbidden                 the session's role may not do this
├── PukRegistrationDisabled   registration by PUK1 is not enabled for the number
├── EmailLoginUnavailable     e-mail login is not for this kind of client
├── PasswordRejected          a new password breaks a rule (``rule``)
├── NotPermitted              not allowed as things stand (a higher closure, an ineligible client)
├── UnknownTarget             no such subscriber within the caller's reach
├── TooManyRequests           a send limit says no (``retry_after`` seconds)
└── NotOurNumber              codes go to the operator's own number ranges only
"""

from __future__ import annotations

from state.models import ClosedBy


class AccountError(Exception):
    """Root of the account's refusals; ``message`` is safe to show the caller."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidCredentials(AccountError):
    """Wrong, expired or used credentials, or nobody by that number: one answer for all."""

    def __init__(self) -> None:
        super().__init__("the number, account, password or code is not valid")


class InvalidCode(AccountError):
    """A one-time code did not verify, whatever the reason (wrong, expired, used, unknown
    number, checks locked): the codes API's one answer."""

    def __init__(self) -> None:
        super().__init__("the code is not valid")


class SessionOver(AccountError):
    """No session, or it has ended (idle, total time, logout, password change, closure)."""

    def __init__(self, reason: str = "missing") -> None:
        super().__init__(f"the session is over ({reason}); log in again")
        self.reason = reason


_CLOSED = {
    ClosedBy.SUBSCRIBER: "access was closed from the phone; dial *141*3*6# and enter PUK1",
    ClosedBy.ORGANISATION: "access was closed by your organisation; contact its administrator",
    ClosedBy.OPERATOR: "access was closed by the operator; call the contact centre on 150",
}


class AccessClosed(AccountError):
    """Access to the account is closed: every way in says so, in the same words."""

    def __init__(self, by: ClosedBy) -> None:
        super().__init__(_CLOSED[by])
        self.closed_by = by


class PasswordChangeRequired(AccountError):
    """A temporary password or an account-number login must be followed by a new password."""

    def __init__(self) -> None:
        super().__init__("set a new password first (POST /api/v1/session/password)")


class Forbidden(AccountError):
    """The session's subscriber has no right to do this."""


class PukRegistrationDisabled(AccountError):
    """Registration by PUK1 needs the option; said only after a right PUK1."""

    def __init__(self) -> None:
        super().__init__(
            "registration by PUK1 is not enabled for this number: enable the service"
            " 'Registration by PUK1' at an A1 sales centre (or ask your organisation's"
            " administrator), or register by SMS code or by dialling *141*0#"
        )


class EmailLoginUnavailable(AccountError):
    """E-mail login is for legal entities, sole proprietors, craftsmen, the self-employed."""

    def __init__(self) -> None:
        super().__init__(
            "e-mail login is available to legal entities, sole proprietors, craftsmen and the"
            " self-employed; log in by phone number instead"
        )


class PasswordRejected(AccountError):
    """A new password breaks the policy, does not match its confirmation, or is reused.

    ``rule`` names the rule (``password_too_short``, ``password_common``, …,
    ``password_mismatch``, ``password_reused``, ``current_password_wrong``).
    """

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule


class NotPermitted(AccountError):
    """The change is not allowed as things stand (a higher closure, an ineligible client)."""


class UnknownTarget(AccountError):
    """No such subscriber within the caller's reach (another client's look the same)."""

    def __init__(self) -> None:
        super().__init__("no such subscriber in your account")


class TooManyRequests(AccountError):
    """A send limit says no; ``retry_after`` is when it will say yes (seconds)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("try again later")
        self.retry_after = retry_after


class NotOurNumber(AccountError):
    """Codes are sent to the operator's own number ranges only (those are public, so saying
    so reveals nothing)."""

    def __init__(self) -> None:
        super().__init__("codes are sent to this operator's numbers only")
