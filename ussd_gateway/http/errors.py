"""The one table from error types to HTTP answers, read by the one middleware.

Errors below this layer say what happened, with data (the closure source, the refused rule,
a retry-after); only this table says which status and code the caller gets. An error's
answer is the entry of the nearest class in its MRO, the way Starlette looks up its
exception handlers: a new subclass answers as its parent until it is given a row.
Errors in no row are bugs: the middleware logs them and answers 500.

Not everything is answered from here: the MO and DLR routes answer their SMS peers in the
peers' own formats (Kannel never gets a 5xx, ``http/sms_mo.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from account.errors import (
    AccessClosed,
    EmailLoginUnavailable,
    Forbidden,
    InvalidCode,
    InvalidCredentials,
    NotOurNumber,
    NotPermitted,
    PasswordChangeRequired,
    PasswordRejected,
    PukRegistrationDisabled,
    SessionOver,
    TooManyRequests,
    UnknownTarget,
)
from state.errors import (
    ConcurrentUpdate,
    InvalidMsisdn,
    KeptConflicting,
    StoreError,
    UnknownSubscriber,
)
from ussd_gateway.errors import (
    BadRequest,
    DialectParseError,
    GatewayBusy,
    Unauthorized,
    UnsupportedMediaType,
)

BUSY_RETRY_AFTER = 1
"""Seconds a caller waits after a conflict storm: it clears within a round of retries."""
UNAVAILABLE_RETRY_AFTER = 5
"""Seconds a caller waits while the database is away: a restart takes a few seconds."""


@dataclass(frozen=True, slots=True)
class ErrorAnswer:
    """How one kind of error is answered."""

    status: int
    code: str
    message: str | None = None
    """A fixed text for the caller; None: the error's own ``message`` (always safe)."""
    retry_after: int | None = None
    """A ``Retry-After`` header, in seconds."""
    code_field: str | None = None
    """The error's attribute that refines ``code`` (``PasswordRejected.rule``)."""
    retry_after_field: str | None = None
    """The error's attribute holding its own retry-after (``TooManyRequests``)."""
    outage: bool = False
    """Logged as one warning naming the error's class (the store is failing)."""


_BUSY = ErrorAnswer(503, "busy", "too many changes at once; try again", BUSY_RETRY_AFTER)

ANSWERS: Mapping[type[BaseException], ErrorAnswer] = MappingProxyType(
    {
        # The request itself.
        BadRequest: ErrorAnswer(400, "bad_request"),
        DialectParseError: ErrorAnswer(400, "malformed_request"),
        InvalidMsisdn: ErrorAnswer(400, "bad_request"),
        UnsupportedMediaType: ErrorAnswer(415, "unsupported_media_type"),
        Unauthorized: ErrorAnswer(401, "unauthorized"),
        # The account's refusals.
        InvalidCredentials: ErrorAnswer(401, "invalid_credentials"),
        InvalidCode: ErrorAnswer(401, "invalid_code"),
        SessionOver: ErrorAnswer(401, "session_ended"),
        AccessClosed: ErrorAnswer(403, "access_closed"),
        PasswordChangeRequired: ErrorAnswer(403, "password_change_required"),
        Forbidden: ErrorAnswer(403, "forbidden"),
        PukRegistrationDisabled: ErrorAnswer(403, "puk_registration_disabled"),
        EmailLoginUnavailable: ErrorAnswer(403, "email_login_unavailable"),
        UnknownTarget: ErrorAnswer(404, "unknown_subscriber"),
        UnknownSubscriber: ErrorAnswer(404, "unknown_subscriber", "no such subscriber"),
        NotPermitted: ErrorAnswer(409, "not_permitted"),
        PasswordRejected: ErrorAnswer(422, "password_rejected", code_field="rule"),
        NotOurNumber: ErrorAnswer(422, "not_our_number"),
        TooManyRequests: ErrorAnswer(429, "too_many_requests", retry_after_field="retry_after"),
        # Contention and outages: nothing of the request was committed; try again.
        GatewayBusy: _BUSY,
        ConcurrentUpdate: _BUSY,
        KeptConflicting: _BUSY,
        StoreError: ErrorAnswer(
            503,
            "unavailable",
            "storage is unavailable; try again",
            UNAVAILABLE_RETRY_AFTER,
            outage=True,
        ),
    }
)


@dataclass(frozen=True, slots=True)
class Answered:
    """An error as the caller sees it."""

    status: int
    code: str
    message: str
    headers: Mapping[str, str]
    outage: bool


def answer_for(exc: BaseException) -> ErrorAnswer | None:
    """The entry of the nearest class of ``exc`` in :data:`ANSWERS`, or None (a bug)."""
    for cls in type(exc).__mro__:
        found = ANSWERS.get(cls)
        if found is not None:
            return found
    return None


def answered(exc: BaseException) -> Answered | None:
    """What the caller gets for ``exc``: status, code, message and headers; None if the
    table has no row for it."""
    entry = answer_for(exc)
    if entry is None:
        return None
    code = str(getattr(exc, entry.code_field)) if entry.code_field else entry.code
    message = entry.message if entry.message is not None else str(getattr(exc, "message", exc))
    retry_after = entry.retry_after
    if entry.retry_after_field is not None:
        retry_after = int(getattr(exc, entry.retry_after_field))
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    return Answered(entry.status, code, message, MappingProxyType(headers), entry.outage)
