"""The reads of operators and the account: audit filters, clients by account or e-mail,
a client's subscribers."""

from __future__ import annotations

from contract_support import ACME_1, ACME_2, ACME_ACCOUNT, ACME_EMAIL, EN, RU, T0, entry, subscriber

from state.models import ChangeSet, ClientKind
from state.store import Store


async def _audit(store: Store) -> None:
    await store.commit(ChangeSet(audit=(entry(RU, "r1", T0), entry(EN, "e1", T0 + 1))))
    await store.commit(ChangeSet(audit=(entry(RU, "r2", T0 + 2),)))
    await store.commit(ChangeSet(audit=(entry(EN, "e2", T0 + 3), entry(RU, "r3", T0 + 4))))


async def test_audit_log_is_newest_first(store: Store) -> None:
    """Without filters: every entry, newest first."""
    await _audit(store)
    assert [e.action for e in await store.audit_log()] == ["r3", "e2", "r2", "e1", "r1"]


async def test_audit_log_filters_by_number(store: Store) -> None:
    """With a number: only that subscriber's entries, newest first; none for another."""
    await _audit(store)
    assert [e.action for e in await store.audit_log(msisdn=RU)] == ["r3", "r2", "r1"]
    assert [e.action for e in await store.audit_log(msisdn=EN)] == ["e2", "e1"]
    assert await store.audit_log(msisdn=ACME_1) == []


async def test_audit_log_filters_by_time(store: Store) -> None:
    """With ``since``: the entries after that time only, alone or with a number."""
    await _audit(store)
    assert [e.action for e in await store.audit_log(since=T0 + 1.5)] == ["r3", "e2", "r2"]
    assert [e.action for e in await store.audit_log(msisdn=EN, since=T0 + 0.5)] == ["e2", "e1"]
    assert await store.audit_log(since=T0 + 10) == []


async def test_audit_log_limit_keeps_the_newest(store: Store) -> None:
    """``limit`` cuts the oldest entries off, with and without filters."""
    await _audit(store)
    assert [e.action for e in await store.audit_log(limit=2)] == ["r3", "e2"]
    assert [e.action for e in await store.audit_log(msisdn=RU, limit=1)] == ["r3"]
    assert [e.action for e in await store.audit_log(msisdn=RU, since=T0 + 1, limit=5)] == [
        "r3",
        "r2",
    ]


async def test_audit_log_defaults_to_a_hundred_entries(store: Store) -> None:
    """Without a limit the log returns its latest hundred entries."""
    await store.commit(ChangeSet(audit=tuple(entry(RU, f"n{n}", T0 + n) for n in range(105))))
    log = await store.audit_log()
    assert len(log) == 100 and log[0].action == "n104" and log[-1].action == "n5"


async def test_a_client_is_found_by_account_number(store: Store) -> None:
    """By its account number exactly; an unknown account is None."""
    client = await store.client_by(account=ACME_ACCOUNT)
    assert client is not None
    assert (client.kind, client.name, client.account, client.email) == (
        ClientKind.LEGAL_ENTITY,
        "ACME",
        ACME_ACCOUNT,
        ACME_EMAIL,
    )
    assert client.id == (await subscriber(store, ACME_1)).client_id
    assert await store.get_client(client.id) == client
    assert await store.client_by(account="0000000000000") is None


async def test_a_client_is_found_by_email_in_any_case(store: Store) -> None:
    """By its e-mail, whatever the case of either spelling; an unknown one is None."""
    client = await store.client_by(account=ACME_ACCOUNT)
    for spelling in (ACME_EMAIL, ACME_EMAIL.lower(), ACME_EMAIL.upper(), "office@ACME.example"):
        assert await store.client_by(email=spelling) == client
    assert await store.client_by(email="nobody@acme.example") is None


async def test_unknown_rows_read_as_none(store: Store) -> None:
    """A number, client, session or challenge that is not stored reads as None."""
    assert await store.get_subscriber("375290000000") is None
    assert await store.get_client(10_000_000) is None
    assert await store.client_subscribers(10_000_000) == []
    assert await store.get_web_session(b"\1" * 32) is None
    assert await store.get_challenge(b"\1" * 32) is None
    assert await store.load_hop("native:none", "375290000000") == (None, None)


async def test_client_subscribers_are_ordered_by_number(store: Store) -> None:
    """A client's subscribers come back by number, whatever the import order, as the rows
    ``get_subscriber`` reads."""
    client_id = (await subscriber(store, ACME_1)).client_id
    rows = await store.client_subscribers(client_id)
    assert [s.msisdn for s in rows] == [ACME_2, ACME_1]  # imported ACME_1 first
    assert rows == [await subscriber(store, ACME_2), await subscriber(store, ACME_1)]
    assert [s.msisdn for s in await store.client_subscribers(rows[0].client_id)] == [ACME_2, ACME_1]
