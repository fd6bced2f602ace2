"""Errors of the account/subscriber core: domain outcomes apart from storage failures.

CoreError
├── InvalidMsisdn            a number that is not a subscriber number at all
├── UnknownSubscriber        a well-formed number the core does not hold
├── SubscriberImportError    a subscriber file that cannot be imported (where and why)
└── StoreError               the storage could not do it now; nothing of the call was written
    ├── StoreUnavailable     the database cannot be reached (down, restarting, network)
    ├── MigrationError       the database schema cannot be brought to this code's
    ├── ConcurrentUpdate     another writer changed the row first; retry the unit of work
    └── KeptConflicting      every retry conflicted (state/retry.py): busy, try again later

A domain outcome is an answer ("no such number"); a ``StoreError`` is not an answer at
all, and the same request may succeed later.
"""

from __future__ import annotations


class CoreError(Exception):
    """Root of every error the core raises on purpose."""


class InvalidMsisdn(CoreError, ValueError):
    """The text is not an accepted spelling of a subscriber number."""


class UnknownSubscriber(CoreError, LookupError):
    """No subscriber with this number. Callers facing the public say nothing more."""


class SubscriberImportError(CoreError):
    """A subscriber file has a bad record; carries where."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: {reason}")
        self.where = where
        self.reason = reason


class StoreError(CoreError):
    """The storage failed the call; nothing of it was written. The store's own message
    names the cause, never a value."""


class StoreUnavailable(StoreError):
    """The database cannot be reached now; nothing of the call was written. Retry later."""


class MigrationError(StoreError):
    """The database cannot be brought to the schema this code needs."""


class ConcurrentUpdate(StoreError):
    """A row changed between read and write (optimistic check failed)."""


class KeptConflicting(StoreError):
    """A unit of work conflicted on every attempt (``state.retry``); nothing was written."""
