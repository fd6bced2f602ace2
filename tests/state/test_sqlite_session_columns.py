"""SQLite migration 0006: a session's pages and hop key move out of ``data`` and the
``"length:tag"`` text into columns of their own, and read back as the typed fields."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from state.sqlite import SqliteStore
from state.sqlite.schema import _statements, migrations

OLD_ROWS = [
    # id, data, last_hop_key
    ("native:paged", {"attempts": 1, "pages": ["раз\n98. Далее", "два\n00. Назад"], "page": 1},
     "3:abc"),
    ("native:plain", {"n": 2}, "0:def"),
    ("native:odd", {}, "tag"),  # never written so: the whole text is the tag
]


def _database_at_5(path: Path) -> None:
    with sqlite3.connect(path) as db:
        for number, script in migrations():
            if number > 5:
                break
            for statement in _statements(script):
                db.execute(statement)
        db.execute("PRAGMA user_version = 5")
        for session_id, data, key in OLD_ROWS:
            db.execute(
                "INSERT INTO ussd_sessions (id, msisdn, service, state, lang, data, started_at,"
                " updated_at, hop, last_hop_key, last_reply) VALUES (?, '375291112233', 'access',"
                " 'menu', 'ru', ?, 1.0, 2.0, 3, ?, '{\"text\": \"x\", \"ends\": false}')",
                (session_id, json.dumps(data, ensure_ascii=False), key),
            )


async def test_existing_sessions_keep_their_pages_and_hop_keys(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    _database_at_5(path)
    store = await SqliteStore.open(path)
    try:
        read = {sid: (await store.load_hop(sid, "375291112233"))[0] for sid, _, _ in OLD_ROWS}
    finally:
        await store.close()
    paged, plain, odd = (read[sid] for sid, _, _ in OLD_ROWS)
    assert paged is not None and plain is not None and odd is not None
    assert paged.data == {"attempts": 1}
    assert (paged.pages, paged.page) == (("раз\n98. Далее", "два\n00. Назад"), 1)
    assert (paged.last_hop_length, paged.last_hop_tag) == (3, "abc")
    assert (plain.data, plain.pages, plain.page) == ({"n": 2}, (), 0)
    assert (plain.last_hop_length, plain.last_hop_tag) == (0, "def")
    assert (odd.last_hop_length, odd.last_hop_tag) == (0, "tag")
    with sqlite3.connect(path) as db:
        columns = {r[1] for r in db.execute("PRAGMA table_info(ussd_sessions)")}
        pages = db.execute("SELECT pages FROM ussd_sessions WHERE id = 'native:plain'").fetchone()
    assert "last_hop_key" not in columns and pages == (None,)
