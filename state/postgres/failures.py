"""Every driver failure becomes one of the core's errors, here and nowhere else (rule 14).

* The database cannot be reached — refused, reset, the server shutting down or starting up,
  a connection killed under a call, no connection slot, a timeout — is
  :class:`~state.errors.StoreUnavailable`: retry later.
* A transaction PostgreSQL itself rolled back to keep concurrent writers apart
  (serialization failure, deadlock) is :class:`~state.errors.ConcurrentUpdate`: read
  again and decide again, as for a version that moved.
* A check of a one-statement commit that found no row (:data:`CONFLICT_STATE`) is the
  :class:`~state.errors.ConcurrentUpdate` that check stands for.
* Anything else (a constraint, a bad value, a programming error) is
  :class:`~state.errors.StoreError`.

Messages name the error's class and SQLSTATE, never its text: a driver's message may quote
a parameter's value (``invalid input for query argument $1: …``) and a connection error may
quote what it connected with. The new error is raised ``from None`` for the same reason,
so a logged traceback does not print the driver's message either.
"""

from __future__ import annotations

import asyncpg

from state.errors import ConcurrentUpdate, StoreError, StoreUnavailable

_UNAVAILABLE_STATES = frozenset(
    {
        "53300",  # too_many_connections: no slot now, maybe in a moment
        "57000",  # operator_intervention
        "57P01",  # admin_shutdown (also pg_terminate_backend)
        "57P02",  # crash_shutdown
        "57P03",  # cannot_connect_now: starting up, in recovery
        "57P05",  # idle_session_timeout
        "57014",  # query_canceled: our command timeout or an operator's cancel
        "25P03",  # idle_in_transaction_session_timeout: the server dropped the connection
        "25006",  # read_only_sql_transaction: a standby answered (a failover under way)
    }
)
_CONFLICT_STATES = frozenset({"40001", "40P01"})  # serialization_failure, deadlock_detected
CONFLICT_STATE = "UG409"
"""Raised by ``ussd_conflict()`` (migration 0002) when a check of a one-statement commit
found no row; :func:`state.postgres.statement.run_as_one` makes it that part's
:class:`~state.errors.ConcurrentUpdate` (its own text, so it never reaches :func:`translate`)."""
# asyncpg's own texts for a connection or pool that is gone (connection.py, pool.py).
_CLOSED_TEXTS = (
    "connection is closed",
    "released back to the pool",
    "pool is closed",
    "pool is closing",
)


def unsent(exc: BaseException) -> bool:
    """Whether the driver refused to send the request because the connection is dead.

    asyncpg checks the connection before it writes: a connection it already knows is
    closed (or that a dying server has just put in its error state, ``cannot switch to
    state …``: the server's FATAL message arrived, its EOF not yet) never carries the
    request, so any work failing this way may run again from the start.
    """
    if isinstance(exc, asyncpg.InternalClientError):
        return str(exc).startswith("cannot switch to state")
    return isinstance(exc, asyncpg.InterfaceError) and _says_closed(exc)


def connection_lost(exc: BaseException) -> bool:
    """Whether the connection went away under a call (not that it was refused).

    Work that lost its connection before it could commit may run again on a fresh one:
    the server rolls back what a dead connection had not committed.
    """
    if isinstance(exc, asyncpg.PostgresConnectionError):
        return True
    if isinstance(exc, asyncpg.PostgresError):
        return exc.sqlstate in ("57P01", "57P02")
    if unsent(exc):
        return True
    return isinstance(exc, ConnectionResetError | BrokenPipeError | ConnectionAbortedError)


def unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` means the database cannot be reached (now)."""
    if isinstance(exc, asyncpg.PostgresConnectionError):
        return True
    if isinstance(exc, asyncpg.PostgresError):
        return exc.sqlstate in _UNAVAILABLE_STATES
    if unsent(exc):
        return True
    return isinstance(exc, OSError | TimeoutError)


def from_driver(exc: BaseException) -> bool:
    """Whether ``exc`` comes from the driver or the network (a bug of ours is neither)."""
    return isinstance(
        exc,
        asyncpg.PostgresError | asyncpg.InterfaceError | asyncpg.InternalClientError | OSError,
    )


def translate(exc: BaseException) -> StoreError:
    """The core's error for a driver failure (``exc`` itself if it already is one)."""
    if isinstance(exc, StoreError):
        return exc
    name = type(exc).__name__
    if isinstance(exc, asyncpg.PostgresError) and exc.sqlstate in _CONFLICT_STATES:
        return ConcurrentUpdate(f"the database rolled the transaction back: {name}")
    if unavailable(exc):
        return StoreUnavailable(f"database unavailable: {_label(exc)}")
    return StoreError(f"database error: {_label(exc)}")


def _label(exc: BaseException) -> str:
    name = type(exc).__name__
    if isinstance(exc, asyncpg.PostgresError):
        # Constraint and table names are the schema's, never a value.
        where = ".".join(
            part
            for part in (getattr(exc, "table_name", None), getattr(exc, "constraint_name", None))
            if part
        )
        return f"{name} ({exc.sqlstate})" + (f" on {where}" if where else "")
    if isinstance(exc, OSError) and exc.errno is not None:
        return f"{name} (errno {exc.errno})"
    return name


def _says_closed(exc: BaseException) -> bool:
    # asyncpg raises a plain InterfaceError for a connection (or pool) that is gone; its
    # fixed texts are the only way to tell that from a misuse of the driver. A bad value
    # (asyncpg's client-side DataError, an InterfaceError and a ValueError) quotes the
    # value, which could hold any text: never read its message.
    if isinstance(exc, ValueError):
        return False
    text = str(exc)
    return any(phrase in text for phrase in _CLOSED_TEXTS)
