"""The SQLite schema: numbered migrations in ``migrations/``, tracked by ``user_version``."""

from __future__ import annotations

import sqlite3
from importlib.resources import files

from state.errors import MigrationError
from state.sqlite.connection import immediate


def migrations() -> list[tuple[int, str]]:
    folder = files("state.sqlite").joinpath("migrations")
    found = []
    for item in folder.iterdir():
        name = item.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), item.read_text(encoding="utf-8")))
    return sorted(found)


def latest() -> int:
    """The schema version this code needs."""
    steps = migrations()
    return steps[-1][0] if steps else 0


def migrate(db: sqlite3.Connection) -> None:
    current = db.execute("PRAGMA user_version").fetchone()[0]
    steps = migrations()
    newest = steps[-1][0] if steps else 0
    if current > newest:
        raise MigrationError(f"database schema {current} is newer than this code ({newest})")
    for number, script in steps:
        if number <= current:
            continue
        with immediate(db):
            # Re-read under the write lock: another process may have migrated meanwhile.
            if db.execute("PRAGMA user_version").fetchone()[0] >= number:
                continue
            for statement in _statements(script):
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {number:d}")


def _statements(script: str) -> list[str]:
    # executescript() would COMMIT our transaction first; split instead (no ';' in our SQL
    # other than between statements).
    lines = [line for line in script.splitlines() if not line.lstrip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
