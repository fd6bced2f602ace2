"""Rule 13: import creates or updates subscribers and their clients; a field given as None
keeps its value; access, passwords, failures and locks are never touched; a client's kind
or name changes only when asked for, and then audited."""

from __future__ import annotations

from dataclasses import replace

import pytest
from contract_support import (
    ACME_1,
    ACME_2,
    ARGON2,
    EN,
    RU,
    T0,
    advanced,
    digest,
    record,
    subscriber,
    unique_msisdn,
)

from state.errors import ConcurrentUpdate, SubscriberImportError
from state.models import Activity, ChangeSet, ClientKind, ClosedBy, Role
from state.store import ImportSummary, Store


async def test_import_counts_created_and_updated(store: Store) -> None:
    """New numbers are created, known ones updated, and the summary says how many."""
    new = [unique_msisdn(), unique_msisdn()]
    summary = await store.import_subscribers(
        [record(new[0]), record(RU, "client:ru"), record(new[1])]
    )
    assert summary == ImportSummary(created=2, updated=1)
    assert await store.import_subscribers([record(n) for n in new]) == ImportSummary(0, 2)
    assert await store.import_subscribers([]) == ImportSummary(0, 0)


async def test_an_imported_subscriber_starts_open_and_clean(store: Store) -> None:
    """A created subscriber has its number, PUK1 digest, language and client, version 0,
    open access, no failures, lock, password, role or temporary password."""
    msisdn = unique_msisdn()
    await store.import_subscribers([record(msisdn, "client:new", lang="en")])
    sub = await subscriber(store, msisdn)
    assert (sub.msisdn, sub.puk_digest, sub.lang, sub.client_kind) == (
        msisdn,
        digest(f"puk:{msisdn}"),
        "en",
        ClientKind.INDIVIDUAL,
    )
    assert (sub.closed_by, sub.closed_reason, sub.closed_at, sub.puk_failures) == (
        None,
        None,
        None,
        0,
    )
    assert (sub.puk_locked_at, sub.password_hash, sub.password_changed_at, sub.role) == (
        None,
        None,
        None,
        None,
    )
    assert (sub.temp_password_hash, sub.temp_password_expires_at, sub.puk_registration) == (
        None,
        None,
        False,
    )
    assert sub.version == 0
    client = await store.get_client(sub.client_id)
    assert client is not None and (client.name, client.kind) == (
        f"Client {msisdn}",
        ClientKind.INDIVIDUAL,
    )


async def test_an_update_keeps_access_passwords_failures_and_locks(store: Store) -> None:
    """Importing a known number again replaces its PUK1 digest and language and advances
    its version; its closure, passwords, failures, lock and the client's account password
    are left as they were."""
    sub = await subscriber(store, RU)
    lived = advanced(
        sub,
        closed_by=ClosedBy.OPERATOR,
        closed_reason="fraud",
        closed_at=T0,
        puk_failures=3,
        puk_locked_at=T0 + 1,
        password_hash=ARGON2,
        password_changed_at=T0 + 2,
        temp_password_hash=ARGON2,
        temp_password_expires_at=T0 + 600,
    )
    client = await store.get_client(sub.client_id)
    assert client is not None
    with_password = replace(
        client,
        account_password_hash=ARGON2,
        account_password_changed_at=T0,
        version=client.version + 1,
    )
    await store.commit(
        ChangeSet(subscribers=((sub.version, lived),), clients=((client.version, with_password),))
    )
    new_puk = digest("another SIM")
    assert await store.import_subscribers(
        [record(RU, "client:ru", lang="en", puk_digest=new_puk)]
    ) == ImportSummary(0, 1)
    assert await subscriber(store, RU) == replace(
        lived, lang="en", puk_digest=new_puk, version=lived.version + 1
    )
    after = await store.get_client(client.id)
    assert after is not None
    assert (after.account_password_hash, after.account_password_changed_at) == (ARGON2, T0)


async def test_an_update_advances_the_version_a_reader_holds(store: Store) -> None:
    """A decision read before an import is stale after it (the import moved the row)."""
    before = await subscriber(store, EN)
    await store.import_subscribers([record(EN, "client:en", lang="en")])
    with pytest.raises(ConcurrentUpdate):
        await store.commit(ChangeSet.write(before, advanced(before, puk_failures=1)))
    assert (await subscriber(store, EN)).version == before.version + 1


async def test_clients_are_found_by_reference(store: Store) -> None:
    """Records with one client reference share one client; another reference is another
    client, and a number imported under a new reference moves to that client."""
    acme = (await subscriber(store, ACME_1)).client_id
    assert (await subscriber(store, ACME_2)).client_id == acme
    assert (await subscriber(store, RU)).client_id != acme
    await store.import_subscribers(
        [record(RU, "client:acme", client_kind=ClientKind.LEGAL_ENTITY, client_name="ACME")]
    )
    assert (await subscriber(store, RU)).client_id == acme
    assert [s.msisdn for s in await store.client_subscribers(acme)] == sorted([ACME_1, ACME_2, RU])


async def test_a_field_given_as_none_keeps_its_value(store: Store) -> None:
    """Client fields, the PUK1-registration option and the role are set when given, and
    kept when a later record gives None; kind and name are always the record's."""
    msisdn = unique_msisdn()
    full = record(
        msisdn,
        "client:full",
        client_kind=ClientKind.SOLE_PROPRIETOR,
        client_name="Full",
        account="A-1",
        identity_digest=digest("unp"),
        email="full@example.org",
        contact_msisdn=RU,
        activity=Activity.CRAFT,
        subscription_fee=True,
        puk_registration=True,
        role=Role.ADMINISTRATOR,
    )
    await store.import_subscribers([full])
    bare = record(msisdn, "client:full", client_kind=ClientKind.LEGAL_ENTITY, client_name="Renamed")
    await store.import_subscribers([bare], update_clients=True)
    sub = await subscriber(store, msisdn)
    assert (sub.puk_registration, sub.role, sub.client_kind) == (
        True,
        Role.ADMINISTRATOR,
        ClientKind.LEGAL_ENTITY,
    )
    client = await store.get_client(sub.client_id)
    assert client is not None
    assert (client.kind, client.name, client.account, client.identity_digest) == (
        ClientKind.LEGAL_ENTITY,
        "Renamed",
        "A-1",
        digest("unp"),
    )
    assert (client.email, client.contact_msisdn, client.activity, client.subscription_fee) == (
        "full@example.org",
        RU,
        Activity.CRAFT,
        True,
    )


async def test_a_field_given_again_replaces_its_value(store: Store) -> None:
    """A value given (False included) replaces the stored one."""
    msisdn = unique_msisdn()
    await store.import_subscribers(
        [
            record(
                msisdn,
                "client:x",
                account="A-2",
                email="a@x.org",
                subscription_fee=True,
                puk_registration=True,
                role=Role.SUPERVISOR,
            )
        ]
    )
    await store.import_subscribers(
        [
            record(
                msisdn,
                "client:x",
                account="A-3",
                email="b@x.org",
                subscription_fee=False,
                puk_registration=False,
                role=Role.ADMINISTRATOR,
                activity=Activity.SELF_EMPLOYED,
            )
        ]
    )
    sub = await subscriber(store, msisdn)
    assert (sub.puk_registration, sub.role) == (False, Role.ADMINISTRATOR)
    client = await store.get_client(sub.client_id)
    assert client is not None
    assert (client.account, client.email, client.subscription_fee, client.activity) == (
        "A-3",
        "b@x.org",
        False,
        Activity.SELF_EMPLOYED,
    )
    assert await store.client_by(account="A-2") is None
    assert await store.client_by(account="A-3") == client


async def test_a_change_of_a_clients_kind_or_name_is_refused_unless_asked(store: Store) -> None:
    """A record that renames a client, or changes its kind, refuses the whole import (naming
    the record's origin, nothing written); with ``update_clients`` it is made."""
    newcomer = unique_msisdn()
    renaming = record(RU, "client:ru", client_name="Renamed", origin="subs.csv:3")
    with pytest.raises(SubscriberImportError) as refused:
        await store.import_subscribers([record(newcomer), renaming])
    assert refused.value.where == "subs.csv:3"
    assert "client 'client:ru'" in refused.value.reason and "'Renamed'" in refused.value.reason
    assert await store.get_subscriber(newcomer) is None
    sub = await subscriber(store, RU)
    client = await store.get_client(sub.client_id)
    assert client is not None and client.name == f"Client {RU}"
    assert [e.action for e in await store.audit_log(msisdn=RU)] == []

    kind = record(EN, "client:en", lang="en", client_kind=ClientKind.SOLE_PROPRIETOR)
    with pytest.raises(SubscriberImportError, match="kind individual → sole_proprietor"):
        await store.import_subscribers([kind])
    assert (await subscriber(store, EN)).client_kind == ClientKind.INDIVIDUAL


async def test_asked_for_client_changes_are_made_and_audited(store: Store) -> None:
    """With ``update_clients`` each changing record is made and audited once, in the
    import's transaction; records that change nothing of the client are not audited."""
    summary = await store.import_subscribers(
        [
            record(RU, "client:ru", client_name="Renamed"),
            record(ACME_1, "client:acme", client_kind=ClientKind.SOLE_PROPRIETOR, client_name="ACME"),
            record(ACME_2, "client:acme", client_kind=ClientKind.SOLE_PROPRIETOR, client_name="ACME"),
            record(EN, "client:en", lang="en"),
        ],
        update_clients=True,
    )
    assert summary == ImportSummary(created=0, updated=4, clients_updated=2)
    client = await store.get_client((await subscriber(store, RU)).client_id)
    assert client is not None and client.name == "Renamed"
    (renamed,) = await store.audit_log(msisdn=RU)
    assert (renamed.action, renamed.actor, str(renamed.channel)) == ("client_updated", "import", "cli")
    assert renamed.detail == {
        "client_ref": "client:ru",
        "kind": ["individual", "individual"],
        "name": [f"Client {RU}", "Renamed"],
    }
    (kind,) = await store.audit_log(msisdn=ACME_1)
    assert kind.detail["kind"] == ["legal_entity", "sole_proprietor"]
    assert await store.audit_log(msisdn=ACME_2) == []
    assert await store.audit_log(msisdn=EN) == []
    again = await store.import_subscribers([record(RU, "client:ru", client_name="Renamed")])
    assert again == ImportSummary(0, 1, 0)


async def test_records_of_one_import_see_the_ones_before_them(store: Store) -> None:
    """A client created by one record and renamed by a later one is a change too."""
    first, second = unique_msisdn(), unique_msisdn()
    rows = [
        record(first, "client:twice", client_name="One", origin="f.csv:2"),
        record(second, "client:twice", client_name="Two", origin="f.csv:3"),
    ]
    with pytest.raises(SubscriberImportError) as refused:
        await store.import_subscribers(rows)
    assert refused.value.where == "f.csv:3"
    assert await store.get_subscriber(first) is None
    assert await store.import_subscribers(rows, update_clients=True) == ImportSummary(2, 0, 1)
