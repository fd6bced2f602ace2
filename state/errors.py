"""Errors of the account/subscriber core.

StoreError
├── StoreUnavailable     the database cannot be reached (down, restarting, network)
├── InvalidMsisdn        a number that is not a subscriber number at all
├── UnknownSubscriber    a well-formed number the core does not hold
├── ConcurrentUpdate     another writer changed the row first; retry the unit of work
├── KeptConflicting      every retry conflicted (state/retry.py): busy, try again later
├── ImportError_         a subscriber file that cannot be imported (line and reason)
└── MigrationError       the database schema is newer than this code
"""

from __future__ import annotations


class StoreError(Exception):
    """Root of every error the core raises on purpose."""


class StoreUnavailable(StoreError):
    """The database cannot be reached now; nothing of the call was written. Retry later."""


class InvalidMsisdn(StoreError, ValueError):
    """The text is not an accepted spelling of a subscriber number."""


class UnknownSubscriber(StoreError, LookupError):
    """No subscriber with this number. Callers facing the public say nothing more."""


class ConcurrentUpdate(StoreError):
    """A row changed between read and write (optimistic check failed)."""


class KeptConflicting(StoreError):
    """A unit of work conflicted on every attempt (``state.retry``); nothing was written."""


class SubscriberImportError(StoreError):
    """A subscriber file has a bad record; carries where."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: {reason}")
        self.where = where
        self.reason = reason


class MigrationError(StoreError):
    """The database cannot be brought to the schema this code needs."""
