"""A commit's statements, and a whole commit as one statement (one round trip).

Every statement of the writer is an :class:`Sql`: its text has a ``{gate}``, ``TRUE``
when it runs by itself (alone, or as one step of a transaction) and, inside a
one-statement commit (:func:`run_as_one`), the condition that lets it run there.

One statement
-------------
Each execution of each step becomes one data-modifying CTE, ``w0``, ``w1``, … in the
plan's order, its parameters renumbered after those before it; a final ``SELECT`` checks
every checked one::

    WITH w0 AS (UPDATE subscribers SET … WHERE msisdn = $14 AND version = $15
                AND TRUE RETURNING 1),
         w1 AS (INSERT INTO audit (…) SELECT $16, …, $21
                WHERE EXISTS (SELECT FROM w0) RETURNING 1),
         w2 AS (UPDATE ussd_sessions SET … WHERE id = $28 AND hop = $29 AND ended_at IS NULL
                AND EXISTS (SELECT FROM w1) RETURNING 1)
    SELECT CASE WHEN NOT EXISTS (SELECT FROM w0) THEN ussd_conflict(0)
                WHEN NOT EXISTS (SELECT FROM w2) THEN ussd_conflict(2) END

It is autocommitted: atomic and durable like the transaction it replaces (rule 1), and one
round trip where the transaction took two plus one per kind of row — a close-confirm hop
(subscriber, audit, sessions ended, USSD session) went from 6 to 1.

*Gates.* A CTE's gate names the CTE before it. An uncorrelated sub-select is evaluated
once, before the CTE touches any row (a one-time filter), so (a) the CTEs run in the
plan's order, taking their row locks in the same key order as the transaction path does
(concurrent commits of either path cannot deadlock), and (b) none writes anything once a
check before it has missed: ``EXISTS`` of the last CTE that returns exactly one row when
it ran and passed (every statement but ``sessions_ended``'s, which may end any number).

*Conflicts.* A check that missed makes the final ``SELECT`` call ``ussd_conflict(n)``
(migration 0002), whose error (:data:`~state.postgres.failures.CONFLICT_STATE`) aborts the
statement with nothing written; :func:`run_as_one` raises part ``n``'s
:class:`~state.errors.ConcurrentUpdate`, with the text the transaction path gives.

*One snapshot.* The CTEs read one snapshot and none sees another's writes (a row one has
written is skipped by another). That equals writing them in turn only while no two write
one row, so :func:`state.postgres.writer.plan` leaves change sets where two might (a row
written twice, the request's own web session with ``sessions_ended``) to the transaction.
Under READ COMMITTED a CTE that waited on a row lock re-checks its ``WHERE`` against the
row as committed, as each statement of the transaction path does.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import asyncpg

from state.errors import ConcurrentUpdate
from state.postgres.failures import CONFLICT_STATE
from state.postgres.pool import Link

GATE = "{gate}"
_PARAMETER = re.compile(r"\$(\d+)")


@dataclass(frozen=True, slots=True)
class Sql:
    """One statement; its ``{gate}`` is ``TRUE`` in :attr:`text`."""

    gated: str
    """The text with its gate open (exactly one ``{gate}``)."""
    many: bool = False
    """Whether one execution may touch any number of rows (else it returns one row when it
    runs and succeeds: ``RETURNING 1`` of one row)."""
    text: str = field(init=False, compare=False)
    width: int = field(init=False, compare=False)
    """How many parameters it takes (``$1`` … ``$width``)."""

    def __post_init__(self) -> None:
        assert self.gated.count(GATE) == 1, self.gated
        object.__setattr__(self, "text", self.gated.replace(GATE, "TRUE"))
        object.__setattr__(self, "width", max(map(int, _PARAMETER.findall(self.gated))))

    def inside(self, offset: int, gate: str) -> str:
        """The text as a part of a longer statement: parameters after ``offset``, gated."""
        renumbered = _PARAMETER.sub(lambda m: f"${int(m[1]) + offset}", self.gated)
        return renumbered.replace(GATE, gate)


@dataclass(frozen=True, slots=True)
class Step:
    """One statement, run once per argument tuple in ``rows``."""

    sql: Sql
    rows: Sequence[tuple[Any, ...]]
    conflict: str | None = None
    """If set, every execution must return one row; otherwise this is the conflict."""

    @property
    def checked(self) -> bool:
        """Whether a missing row is a conflict."""
        return self.conflict is not None


Shape = tuple[tuple[Sql, int, bool], ...]
"""What a one-statement text depends on: each step's statement, executions and check."""


async def run_as_one(link: Link, steps: Sequence[Step]) -> None:
    """Run ``steps`` as one autocommitted statement (see the module docstring)."""
    shape = tuple((step.sql, len(step.rows), step.checked) for step in steps)
    args = [value for step in steps for row in step.rows for value in row]
    try:
        await link.execute(_text(shape), *args)
    except asyncpg.PostgresError as exc:
        if exc.sqlstate == CONFLICT_STATE:
            parts = [step.conflict for step in steps for _ in step.rows]
            raise ConcurrentUpdate(parts[int(exc.detail or 0)]) from None
        if isinstance(exc, asyncpg.UniqueViolationError):
            # As in a step by itself: only a checked insert can meet a duplicate key (every
            # other statement inserts generated ids or upserts), and ON CONFLICT already
            # answers it; one that still got through is the same conflict.
            raise ConcurrentUpdate(f"a row of {exc.table_name} exists already") from None
        raise


@lru_cache(maxsize=256)
def _text(shape: Shape) -> str:
    """The statement of one shape, built once: the same text each time, so asyncpg's
    statement cache of each connection finds it prepared."""
    ctes: list[str] = []
    checks: list[str] = []
    offset = 0
    anchor: str | None = None  # the last CTE that returns a row when it ran and passed
    for sql, executions, checked in shape:
        for _ in range(executions):
            name = f"w{len(ctes)}"
            gate = []
            previous = f"w{len(ctes) - 1}" if ctes else None
            if previous is not None and previous != anchor:
                gate.append(f"(SELECT count(*) FROM {previous}) >= 0")  # noqa: S608 - it ran
            if anchor is not None:
                gate.append(f"EXISTS (SELECT FROM {anchor})")  # no check before missed
            ctes.append(f"{name} AS ({sql.inside(offset, ' AND '.join(gate) or 'TRUE')})")
            offset += sql.width
            if checked:
                checks.append(
                    f" WHEN NOT EXISTS (SELECT FROM {name}) THEN ussd_conflict({len(ctes) - 1})"
                )
            if not sql.many:
                anchor = name
    verdict = f"CASE{''.join(checks)} END" if checks else "NULL"
    return f"WITH {', '.join(ctes)} SELECT {verdict}"
