"""SQLite migration 0007: a subscriber's key is any plan's (E.164 digits), not +375 alone;
the rows, their columns and the index are carried over."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from state.sqlite import SqliteStore
from state.sqlite.schema import _statements, migrations

ROW = ("375291112233", 1, "en", "subscriber", "lost", 5.0, b"d" * 32, 2, 6.0,
       "$argon2id$x", 7.0, 3, "administrator", 1, "$argon2id$y", 8.0)


def _database_at_6(path: Path) -> None:
    with sqlite3.connect(path) as db:
        for number, script in migrations():
            if number > 6:
                break
            for statement in _statements(script):
                db.execute(statement)
        db.execute("PRAGMA user_version = 6")
        db.execute("INSERT INTO clients (id, ref, kind, name) VALUES (1, 'c1', 'individual', 'A')")
        db.execute(f"INSERT INTO subscribers VALUES ({', '.join('?' * len(ROW))})", ROW)


async def test_existing_subscribers_are_kept_and_other_plans_keys_fit(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    _database_at_6(path)
    with sqlite3.connect(path) as db:
        columns = [r[1] for r in db.execute("PRAGMA table_info(subscribers)")]
    store = await SqliteStore.open(path)
    await store.close()
    with sqlite3.connect(path) as db:
        assert [r[1] for r in db.execute("PRAGMA table_info(subscribers)")] == columns
        assert db.execute("SELECT * FROM subscribers").fetchall() == [ROW]
        indexes = {r[1] for r in db.execute("PRAGMA index_list(subscribers)")}
        assert "subscribers_client" in indexes
        insert = "INSERT INTO subscribers (msisdn, client_id, puk_digest) VALUES (?, 1, ?)"
        db.execute(insert, ("233241112233", b"d" * 32))
        for bad in ("0241112233", "23324111223x", "1" * 16, "123456", ""):
            with pytest.raises(sqlite3.IntegrityError):
                db.execute(insert, (bad, b"d" * 32))
