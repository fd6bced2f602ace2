"""The one error table: every error a caller can cause has one answer, found by the MRO."""

from __future__ import annotations

import inspect

import pytest

import account.errors
import state.errors
import ussd_gateway.errors
from account.errors import AccountError, PasswordRejected, TooManyRequests
from state.errors import (
    ConcurrentUpdate,
    CoreError,
    KeptConflicting,
    StoreError,
    StoreUnavailable,
    SubscriberImportError,
)
from ussd_gateway.errors import BadRequest, GatewayError, MenuDefinitionError
from ussd_gateway.http.errors import ANSWERS, answer_for, answered

NEVER_PER_REQUEST = {MenuDefinitionError, SubscriberImportError, CoreError, GatewayError,
                     AccountError}
"""Raised at start-up or by tools, or a root: a request never ends in them (a 500 if it did)."""


def _error_classes() -> list[type[BaseException]]:
    found = []
    for module in (account.errors, state.errors, ussd_gateway.errors):
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, Exception) and value.__module__ == module.__name__:
                found.append(value)
    return found


@pytest.mark.parametrize("cls", _error_classes(), ids=lambda c: c.__name__)
def test_every_error_a_request_can_end_in_has_an_answer(cls: type[BaseException]) -> None:
    """Each error class of the service, the account and the core maps to a status; the
    roots and the start-up errors do not (a request ending there is a bug: 500)."""
    entry = answer_for(cls.__new__(cls))
    if cls in NEVER_PER_REQUEST:
        assert entry is None, cls
    else:
        assert entry is not None and 400 <= entry.status < 600, cls


@pytest.mark.parametrize("cls", _error_classes(), ids=lambda c: c.__name__)
def test_no_error_carries_an_http_status(cls: type[BaseException]) -> None:
    """Errors say what happened; only the table knows HTTP."""
    assert not {"status", "headers"} & set(vars(cls)), cls


def test_a_subclass_without_a_row_answers_as_its_parent() -> None:
    """The nearest class in the MRO wins, as Starlette finds its handlers."""

    class NewKindOfBadRequest(BadRequest):
        pass

    class NewOutage(StoreUnavailable):
        pass

    assert NewKindOfBadRequest not in ANSWERS and NewOutage not in ANSWERS
    assert answer_for(NewKindOfBadRequest("x")) is ANSWERS[BadRequest]
    assert answer_for(NewOutage("x")) is ANSWERS[StoreError]


def test_a_refused_password_answers_with_its_rule() -> None:
    got = answered(PasswordRejected("password_too_short", "at least 8 characters"))
    assert got is not None
    assert (got.status, got.code, got.message) == (
        422, "password_too_short", "at least 8 characters")


def test_a_send_limit_answers_with_its_own_retry_after() -> None:
    got = answered(TooManyRequests(42))
    assert got is not None
    assert (got.status, got.code, dict(got.headers)) == (429, "too_many_requests",
                                                        {"Retry-After": "42"})


@pytest.mark.parametrize("exc", [ConcurrentUpdate("row 375291112233"),
                                 KeptConflicting("the guard of 375291112233 kept conflicting")])
def test_contention_is_busy_and_never_echoes_the_store_message(exc: Exception) -> None:
    """A conflict storm is "busy, retry in a second", not an outage; the store's words (which
    may name a number) never reach the caller."""
    got = answered(exc)
    assert got is not None
    assert (got.status, got.code, got.headers.get("Retry-After"), got.outage) == (
        503, "busy", "1", False)
    assert "375" not in got.message


def test_an_outage_is_unavailable_logged_and_never_echoes_the_store_message() -> None:
    got = answered(StoreUnavailable("could not connect to 10.0.0.5:5432 as gateway"))
    assert got is not None
    assert (got.status, got.code, got.headers.get("Retry-After"), got.outage) == (
        503, "unavailable", "5", True)
    assert "10.0.0.5" not in got.message


def test_an_unknown_error_has_no_answer() -> None:
    """Anything else is a bug: the middleware logs its traceback and answers 500."""
    assert answered(ZeroDivisionError()) is None
    assert answered(KeyError("x")) is None
