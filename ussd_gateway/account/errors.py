"""The account API's refusals, each a :class:`GatewayError` with its status and code.

Failures that could tell a stranger whether a number or account exists all become one
:class:`InvalidCredentials`; the others are said only once the caller has proven who it is
(a right password, code or PUK1), so they reveal nothing to anyone else.
"""

from __future__ import annotations

from state.models import ClosedBy
from ussd_gateway.errors import GatewayError


class InvalidCredentials(GatewayError):
    """Wrong, expired or used credentials, or nobody by that number: one answer for all."""

    status = 401
    code = "invalid_credentials"

    def __init__(self) -> None:
        super().__init__("the number, account, password or code is not valid")


class SessionOver(GatewayError):
    """No session, or it has ended (idle, total time, logout, password change, closure)."""

    status = 401
    code = "session_ended"

    def __init__(self, reason: str = "missing") -> None:
        super().__init__(f"the session is over ({reason}); log in again")


_CLOSED = {
    ClosedBy.SUBSCRIBER: "access was closed from the phone; dial *141*3*6# and enter PUK1",
    ClosedBy.ORGANISATION: "access was closed by your organisation; contact its administrator",
    ClosedBy.OPERATOR: "access was closed by the operator; call the contact centre on 150",
}


class AccessClosed(GatewayError):
    """Access to the account is closed: every way in says so, in the same words."""

    status = 403
    code = "access_closed"

    def __init__(self, by: ClosedBy) -> None:
        super().__init__(_CLOSED[by])
        self.closed_by = by


class PasswordChangeRequired(GatewayError):
    """A temporary password or an account-number login must be followed by a new password."""

    status = 403
    code = "password_change_required"

    def __init__(self) -> None:
        super().__init__("set a new password first (POST /api/v1/session/password)")


class Forbidden(GatewayError):
    """The session's subscriber has no right to do this."""

    status = 403
    code = "forbidden"


class PukRegistrationDisabled(GatewayError):
    """Registration by PUK1 needs the option; said only after a right PUK1."""

    status = 403
    code = "puk_registration_disabled"

    def __init__(self) -> None:
        super().__init__(
            "registration by PUK1 is not enabled for this number: enable the service"
            " 'Registration by PUK1' at an A1 sales centre (or ask your organisation's"
            " administrator), or register by SMS code or by dialling *141*0#"
        )


class EmailLoginUnavailable(GatewayError):
    """E-mail login is for legal entities, sole proprietors, craftsmen, the self-employed."""

    status = 403
    code = "email_login_unavailable"

    def __init__(self) -> None:
        super().__init__(
            "e-mail login is available to legal entities, sole proprietors, craftsmen and the"
            " self-employed; log in by phone number instead"
        )


class PasswordRejected(GatewayError):
    """A new password breaks the policy, does not match its confirmation, or is reused.

    The code names the rule (``password_too_short``, ``password_common``, …,
    ``password_mismatch``, ``password_reused``, ``current_password_wrong``).
    """

    status = 422
    code = "password_rejected"

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.code = reason


class NotPermitted(GatewayError):
    """The change is not allowed as things stand (a higher closure, an ineligible client)."""

    status = 409
    code = "not_permitted"


class UnknownTarget(GatewayError):
    """No such subscriber within the caller's reach (another client's look the same)."""

    status = 404
    code = "unknown_subscriber"

    def __init__(self) -> None:
        super().__init__("no such subscriber in your account")


class TooManyRequests(GatewayError):
    """A send limit says no."""

    status = 429
    code = "too_many_requests"

    def __init__(self, retry_after: int) -> None:
        super().__init__("try again later")
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}
