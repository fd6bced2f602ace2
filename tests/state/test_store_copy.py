"""``ussd-gateway store copy``: SQLite → PostgreSQL → SQLite keeps every row, refuses a
non-empty target, and prints the counts it verified on both sides."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import pytest
from pgserver import fresh_database
from support import OPEN_EN, OPEN_RU, PEPPER_HEX, SUBSCRIBERS, T0, seed

from state.backends import DatabaseLocation, open_store
from state.copy import CopyRefused, copy_store
from state.credentials import Pepper
from state.models import (
    AuditEntry,
    ChangeSet,
    Channel,
    CodeSend,
    LoginChallenge,
    MoReceipt,
    OtpCode,
    OtpGuard,
    OutboxMessage,
    UssdSession,
    WebSession,
)
from state.store import Store
from ussd_gateway.process.cli import main

ARGON = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"


async def _populate(store: Store) -> None:
    """A little of everything the core holds."""
    await seed(store, Pepper.from_hex(PEPPER_HEX), SUBSCRIBERS)  # type: ignore[arg-type]
    sub = await store.get_subscriber(OPEN_RU.msisdn)
    assert sub is not None
    client = await store.get_client(sub.client_id)
    assert client is not None
    after = replace(sub, password_hash=ARGON, password_changed_at=T0, puk_failures=2,
                    version=sub.version + 1)
    changes = ChangeSet(
        subscribers=((sub.version, after),),
        clients=((client.version, replace(client, account_password_hash=ARGON,
                                          version=client.version + 1)),),
        audit=(AuditEntry(sub.msisdn, "password_set", "subscriber", Channel.USSD, T0,
                          {"via": "*141*0#", "n": 1.5}),),
        outbox=(OutboxMessage(sub.msisdn, "puk_locked_alert", "Текст", T0, T0 + 300),),
        guards=((0, OtpGuard(sub.msisdn, 3, T0 + 30, 1)),),
        codes=(OtpCode(sub.msisdn, "login", b"\x01" * 32, T0, T0 + 300, 1),),
        code_sends=(CodeSend(sub.msisdn, "login", Channel.SMS, T0),),
        mo_receipts=(MoReceipt("jasmin", "m-1", T0),),
        web_sessions=((None, WebSession(b"\x02" * 32, sub.msisdn, "password", T0, T0,
                                        must_change=True, credential_at=T0)),),
        challenges=(LoginChallenge(b"\x03" * 32, OPEN_EN.msisdn, "account", T0, T0 + 300),),
    )
    session = UssdSession("native:s-1", sub.msisdn, "access", "confirm_close", "ru", T0, T0, 2,
                          3, "tag", {"text": "Закрыть?", "ends": False}, {"attempts": 1},
                          pages=("Страница 1\n98. Далее", "Page 2\n00. Back"), page=1)
    await store.commit(changes, session=session)


async def _everything(store: Store) -> tuple[object, ...]:
    """What the core reads back, for comparing two stores."""
    subs = [await store.get_subscriber(s.msisdn) for s in SUBSCRIBERS]
    clients = [await store.get_client(s.client_id) for s in subs if s is not None]
    return (
        subs,
        clients,
        await store.audit_log(limit=1000),
        await store.outbox(),
        await store.load_hop("native:s-1", OPEN_RU.msisdn),
        await store.load_codes(OPEN_RU.msisdn, "login", T0 + 1),
        await store.get_guard(OPEN_RU.msisdn),
        await store.mo_received("jasmin", "m-1"),
        await store.get_web_session(b"\x02" * 32),
        await store.get_challenge(b"\x03" * 32),
    )


@pytest.mark.postgres
async def test_sqlite_to_postgresql_and_back_keeps_everything(tmp_path: Path) -> None:
    source = DatabaseLocation.parse(str(tmp_path / "source.sqlite3"))
    back = DatabaseLocation.parse(str(tmp_path / "back.sqlite3"))
    store = await open_store(source)
    try:
        await _populate(store)
        expected = await _everything(store)
    finally:
        await store.close()
    async with fresh_database() as dsn:
        shared = DatabaseLocation.parse(dsn)
        counts = {c.table: (c.source, c.target) for c in await copy_store(source, shared)}
        assert counts["subscribers"] == (len(SUBSCRIBERS), len(SUBSCRIBERS))
        assert counts["ussd_sessions"] == (1, 1) and counts["web_sessions"] == (1, 1)
        assert all(a == b for a, b in counts.values())
        pg = await open_store(shared)
        try:
            assert await _everything(pg) == expected
            # Identity sequences continue after the copied ids.
            sub = await pg.get_subscriber(OPEN_RU.msisdn)
            assert sub is not None
            await pg.commit(ChangeSet(audit=(AuditEntry(sub.msisdn, "x", "t", Channel.CLI, T0),)))
        finally:
            await pg.close()
        await copy_store(shared, back)
    store = await open_store(back)
    try:
        again = await _everything(store)
        assert again[0] == expected[0] and again[3:] == expected[3:]
        assert len(again[2]) == len(expected[2]) + 1  # type: ignore[arg-type]
    finally:
        await store.close()


async def test_a_non_empty_target_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    source = DatabaseLocation.parse(str(tmp_path / "a.sqlite3"))
    target = DatabaseLocation.parse(str(tmp_path / "b.sqlite3"))
    for location in (source, target):
        store = await open_store(location)
        await seed(store, Pepper.from_hex(PEPPER_HEX), (OPEN_RU,))  # type: ignore[arg-type]
        await store.close()
    with pytest.raises(CopyRefused, match="not empty"):
        await copy_store(source, target)
    with pytest.raises(CopyRefused, match="same database"):
        await copy_store(source, source)
    store = await open_store(target)
    try:
        assert len(await store.audit_log()) == 0
        assert await store.get_subscriber(OPEN_RU.msisdn) is not None
    finally:
        await store.close()


def test_the_command_prints_the_verified_counts(tmp_path: Path) -> None:
    import asyncio

    source = tmp_path / "a.sqlite3"

    async def make() -> None:
        store = await open_store(DatabaseLocation.parse(str(source)))
        await _populate(store)
        await store.close()

    asyncio.run(make())
    out = io.StringIO()
    status = main(["store", "copy", "--from", str(source), "--to", str(tmp_path / "b.sqlite3")],
                  out=out)
    text = out.getvalue()
    assert status == 0
    assert f"  subscribers        {len(SUBSCRIBERS):>9} {len(SUBSCRIBERS):>9}" in text
    assert "verified" in text
    # A refusal is one line on stderr and exit status 2, nothing printed as done.
    assert main(["store", "copy", "--from", str(source), "--to", str(tmp_path / "b.sqlite3")],
                out=io.StringIO()) == 2
