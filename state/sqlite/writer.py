"""The change-set writer: a :class:`~state.models.ChangeSet` and a USSD session position as
SQL, keeping the commit semantics of ``state/store.py`` (rule numbers in the comments).

Runs inside a transaction it does not own (the group commit's), on the writer's thread.
"""

from __future__ import annotations

import json
import sqlite3

from state.errors import ConcurrentUpdate
from state.models import ChangeSet, UssdSession, WebSession
from state.sqlite.rows import CHALLENGE_COLUMNS


def apply_changes(db: sqlite3.Connection, changes: ChangeSet) -> None:
    """Write ``changes``; ConcurrentUpdate (rules 2, 3, 6, 7) leaves the rest to the caller's
    savepoint."""
    # Most hops change nothing but their session; an executemany of nothing still looks up,
    # binds and resets its statement, so each one runs only when it has rows.
    for version_read, sub in changes.subscribers:
        cur = db.execute(
            "UPDATE subscribers SET lang = ?, closed_by = ?, closed_reason = ?, closed_at = ?,"
            " puk_failures = ?, puk_locked_at = ?, password_hash = ?, password_changed_at = ?,"
            " role = ?, puk_registration = ?, temp_password_hash = ?,"
            " temp_password_expires_at = ?, version = ? WHERE msisdn = ? AND version = ?",
            (
                sub.lang,
                str(sub.closed_by) if sub.closed_by else None,
                sub.closed_reason,
                sub.closed_at,
                sub.puk_failures,
                sub.puk_locked_at,
                sub.password_hash,
                sub.password_changed_at,
                str(sub.role) if sub.role else None,
                int(sub.puk_registration),
                sub.temp_password_hash,
                sub.temp_password_expires_at,
                sub.version,
                sub.msisdn,
                version_read,
            ),
        )
        if cur.rowcount != 1:
            raise ConcurrentUpdate(f"subscriber changed since version {version_read}")
    if changes.audit:
        db.executemany(
            "INSERT INTO audit (at, msisdn, action, actor, channel, detail)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [
                (e.at, e.msisdn, e.action, e.actor, str(e.channel), json.dumps(e.detail))
                for e in changes.audit
            ],
        )
    if changes.outbox:
        db.executemany(
            "INSERT INTO outbox (created_at, msisdn, kind, body, next_attempt_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [
                (m.created_at, m.msisdn, m.kind, m.body, m.created_at, m.expires_at)
                for m in changes.outbox
            ],
        )
    for version_read, guard in changes.guards:
        cur = db.execute(
            "UPDATE otp_guards SET failures = ?, locked_until = ?, version = ?"
            " WHERE msisdn = ? AND version = ?",
            (guard.failures, guard.locked_until, guard.version, guard.msisdn, version_read),
        )
        if cur.rowcount == 1:
            continue
        if version_read != 0:
            raise ConcurrentUpdate(f"code guard changed since version {version_read}")
        try:
            db.execute(
                "INSERT INTO otp_guards (msisdn, failures, locked_until, version)"
                " VALUES (?, ?, ?, ?)",
                (guard.msisdn, guard.failures, guard.locked_until, guard.version),
            )
        except sqlite3.IntegrityError as exc:
            raise ConcurrentUpdate("code guard was created by another writer") from exc
    if changes.codes:
        db.executemany(
            "INSERT OR REPLACE INTO otp_codes (msisdn, purpose, digest, created_at, expires_at,"
            " attempts, used_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (c.msisdn, c.purpose, c.digest, c.created_at, c.expires_at, c.attempts, c.used_at)
                for c in changes.codes
            ],
        )
    for receipt in changes.mo_receipts:
        try:
            db.execute(
                "INSERT INTO mo_receipts (source, message_id, at) VALUES (?, ?, ?)",
                (receipt.source, receipt.message_id, receipt.at),
            )
        except sqlite3.IntegrityError as exc:
            raise ConcurrentUpdate("this MO was answered by another delivery") from exc
    if changes.code_sends:
        db.executemany(
            "INSERT INTO code_sends (msisdn, purpose, channel, at) VALUES (?, ?, ?, ?)",
            [(s.msisdn, s.purpose, str(s.channel), s.at) for s in changes.code_sends],
        )
    for version_read, client in changes.clients:
        cur = db.execute(
            "UPDATE clients SET account_password_hash = ?, account_password_changed_at = ?,"
            " version = ? WHERE id = ? AND version = ?",
            (
                client.account_password_hash,
                client.account_password_changed_at,
                client.version,
                client.id,
                version_read,
            ),
        )
        if cur.rowcount != 1:
            raise ConcurrentUpdate(f"client changed since version {version_read}")
    # The request's own session is checked (and written) first, then sessions are ended,
    # then new ones start: a password change ends every session and hands out a new one.
    for session_read, web in changes.web_sessions:
        if session_read is not None:
            _write_web_session(db, session_read, web)
    if changes.sessions_ended:
        db.executemany(
            "UPDATE web_sessions SET ended_at = ?, end_reason = ?, version = version + 1"
            " WHERE msisdn = ? AND ended_at IS NULL",
            [(e.at, e.reason, e.msisdn) for e in changes.sessions_ended],
        )
    for session_read, web in changes.web_sessions:
        if session_read is None:
            _write_web_session(db, session_read, web)
    if changes.challenges:
        db.executemany(
            f"INSERT OR REPLACE INTO login_challenges ({CHALLENGE_COLUMNS})"  # noqa: S608
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    c.digest,
                    c.msisdn,
                    c.method,
                    c.created_at,
                    c.expires_at,
                    int(c.must_change),
                    c.used_at,
                )
                for c in changes.challenges
            ],
        )


def _write_web_session(db: sqlite3.Connection, version_read: int | None, w: WebSession) -> None:
    values = (
        w.msisdn,
        w.method,
        w.created_at,
        w.last_seen_at,
        int(w.must_change),
        w.credential_at,
        w.ended_at,
        w.end_reason,
        w.version,
        w.digest,
    )
    if version_read is None:
        try:
            db.execute(
                "INSERT INTO web_sessions (msisdn, method, created_at, last_seen_at, must_change,"
                " credential_at, ended_at, end_reason, version, digest)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                values,
            )
        except sqlite3.IntegrityError as exc:
            raise ConcurrentUpdate("session token collision") from exc
        return
    # A write to a session that ended (or moved) since it was read fails: whatever the
    # request was doing in that session is annulled with it (seed 001 §1.9).
    cur = db.execute(
        "UPDATE web_sessions SET msisdn = ?, method = ?, created_at = ?, last_seen_at = ?,"
        " must_change = ?, credential_at = ?, ended_at = ?, end_reason = ?, version = ?"
        " WHERE digest = ? AND version = ? AND ended_at IS NULL",
        (*values, version_read),
    )
    if cur.rowcount != 1:
        raise ConcurrentUpdate("the session ended or moved since it was read")


def write_session(db: sqlite3.Connection, s: UssdSession, hop_read: int | None) -> None:
    """Write a USSD session's position (rule 8)."""
    data = json.dumps(s.data)
    # NULL while the screen fits one page (most hops): nothing to encode, nothing to decode.
    pages = json.dumps(s.pages, ensure_ascii=False) if s.pages else None
    reply = json.dumps(s.last_reply, ensure_ascii=False)
    if hop_read is None:
        try:
            db.execute(
                "INSERT INTO ussd_sessions (msisdn, service, state, lang, data, pages, page,"
                " started_at, updated_at, hop, last_hop_length, last_hop_tag, last_reply,"
                " ended_at, end_reason, id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    s.msisdn,
                    s.service,
                    s.state,
                    s.lang,
                    data,
                    pages,
                    s.page,
                    s.started_at,
                    s.updated_at,
                    s.hop,
                    s.last_hop_length,
                    s.last_hop_tag,
                    reply,
                    s.ended_at,
                    s.end_reason,
                    s.id,
                ),
            )
        except sqlite3.IntegrityError as exc:
            raise ConcurrentUpdate("session was created by another hop") from exc
        return
    # A later hop moves a live session: its number, service, language and start never
    # change, and SQLite rewrites an index whenever its columns (or those of a partial
    # index's WHERE) are SET, so only what moves is SET. A session the sweeper ended since
    # it was read (ended_at set, hop unchanged) is not brought back: the hop is rerun.
    moved = (
        s.state,
        data,
        pages,
        s.page,
        s.updated_at,
        s.hop,
        s.last_hop_length,
        s.last_hop_tag,
        reply,
    )
    if s.ended_at is None:
        cur = db.execute(
            "UPDATE ussd_sessions SET state = ?, data = ?, pages = ?, page = ?, updated_at = ?,"
            " hop = ?, last_hop_length = ?, last_hop_tag = ?, last_reply = ?"
            " WHERE id = ? AND hop = ? AND ended_at IS NULL",
            (*moved, s.id, hop_read),
        )
    else:
        cur = db.execute(
            "UPDATE ussd_sessions SET state = ?, data = ?, pages = ?, page = ?, updated_at = ?,"
            " hop = ?, last_hop_length = ?, last_hop_tag = ?, last_reply = ?, ended_at = ?,"
            " end_reason = ? WHERE id = ? AND hop = ? AND ended_at IS NULL",
            (*moved, s.ended_at, s.end_reason, s.id, hop_read),
        )
    if cur.rowcount != 1:
        raise ConcurrentUpdate("session moved since it was read")
