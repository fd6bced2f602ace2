"""Rules 4 and 5: codes and challenges are upserted; audit, outbox and code sends appended."""

from __future__ import annotations

from contract_support import EN, RU, T0, digest, entry
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from state.models import ChangeSet, Channel, CodeSend, LoginChallenge, OtpCode, OutboxMessage
from state.store import Store


async def test_a_code_replaces_the_numbers_code_for_its_purpose(store: Store) -> None:
    """A new code for the same number and purpose replaces the old one, attempts and all;
    the number's code for another purpose, and another number's code, stay."""
    first = OtpCode(RU, "login", digest("first"), T0, T0 + 300, attempts=2)
    other_purpose = OtpCode(RU, "register", digest("register"), T0, T0 + 300, attempts=1)
    other_number = OtpCode(EN, "login", digest("en"), T0, T0 + 300, attempts=1)
    await store.commit(ChangeSet(codes=(first, other_purpose, other_number)))
    second = OtpCode(RU, "login", digest("second"), T0 + 60, T0 + 360)
    await store.commit(ChangeSet(codes=(second,)))
    assert (await store.load_codes(RU, "login", T0 + 61)).code == second
    assert (await store.load_codes(RU, "register", T0 + 61)).code == other_purpose
    assert (await store.load_codes(EN, "login", T0 + 61)).code == other_number


async def test_a_code_written_again_keeps_what_it_is_given(store: Store) -> None:
    """Writing the number's code back (a wrong attempt counted, the code used) stores it
    as given: the same row, replaced."""
    code = OtpCode(RU, "email-login", digest("code"), T0, T0 + 300)
    await store.commit(ChangeSet(codes=(code,)))
    tried = OtpCode(RU, "email-login", digest("code"), T0, T0 + 300, attempts=1)
    await store.commit(ChangeSet(codes=(tried,)))
    assert (await store.load_codes(RU, "email-login", T0)).code == tried
    used = OtpCode(RU, "email-login", digest("code"), T0, T0 + 300, attempts=1, used_at=T0 + 9)
    await store.commit(ChangeSet(codes=(used,)))
    assert (await store.load_codes(RU, "email-login", T0)).code == used


async def test_a_challenge_replaces_the_one_with_its_digest(store: Store) -> None:
    """A challenge with an existing digest replaces it; another digest is another one."""
    first = LoginChallenge(digest("c1"), RU, "account", T0, T0 + 300)
    other = LoginChallenge(digest("c2"), EN, "email", T0, T0 + 300, must_change=True)
    await store.commit(ChangeSet(challenges=(first, other)))
    assert await store.get_challenge(digest("c1")) == first
    used = LoginChallenge(
        digest("c1"), RU, "account", T0, T0 + 300, must_change=True, used_at=T0 + 30
    )
    await store.commit(ChangeSet(challenges=(used,)))
    assert await store.get_challenge(digest("c1")) == used
    assert await store.get_challenge(digest("c2")) == other
    assert await store.get_challenge(digest("c3")) is None


async def test_audit_entries_are_appended_in_order(store: Store) -> None:
    """Entries of one commit and of later commits are kept, in order, with their detail:
    the log reads them back newest first."""
    await store.commit(
        ChangeSet(
            audit=(
                entry(RU, "one", T0, **{"from": "open", "n": 1}),
                entry(RU, "two", T0, причина="по заявлению"),
                entry(EN, "three", T0),
            )
        )
    )
    await store.commit(ChangeSet(audit=(entry(RU, "four", T0 + 1), entry(RU, "five", T0 + 1))))
    log = await store.audit_log()
    assert [e.action for e in log] == ["five", "four", "three", "two", "one"]
    assert log[-1] == entry(RU, "one", T0, **{"from": "open", "n": 1})
    assert log[-2].detail == {"причина": "по заявлению"}
    assert log[-2].channel is Channel.USSD


async def test_outbox_messages_are_appended_in_order(store: Store) -> None:
    """Each message is a new row, pending, oldest first, however alike they are."""
    alike = OutboxMessage(RU, "code", "Код: ******", T0, expires_at=T0 + 300)
    await store.commit(ChangeSet(outbox=(alike, alike)))
    await store.commit(ChangeSet(outbox=(OutboxMessage(EN, "alert", "Access closed", T0 + 1),)))
    rows = await store.outbox()
    assert [(r.msisdn, r.kind, r.body) for r in rows] == [
        (RU, "code", "Код: ******"),
        (RU, "code", "Код: ******"),
        (EN, "alert", "Access closed"),
    ]
    assert len({r.id for r in rows}) == 3 and [r.id for r in rows] == sorted(r.id for r in rows)
    assert all((r.status, r.attempts) == ("pending", 0) for r in rows)
    assert (rows[0].created_at, rows[0].expires_at) == (T0, T0 + 300)
    assert [r.msisdn for r in await store.outbox(EN)] == [EN]


async def test_code_sends_are_appended(store: Store) -> None:
    """Two sends alike are two sends: each one counts."""
    send = CodeSend(RU, "login", Channel.SMS, T0)
    await store.commit(ChangeSet(code_sends=(send, send)))
    await store.commit(ChangeSet(code_sends=(send,)))
    codes = await store.load_codes(RU, "login", T0 + 1)
    assert (codes.sends_last_minute, codes.sends_last_10_minutes) == (3, 3)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    batches=st.lists(
        st.lists(st.sampled_from([RU, EN]), min_size=1, max_size=4), min_size=1, max_size=5
    )
)
async def test_appends_keep_commit_order(store: Store, batches: list[list[str]]) -> None:
    """However entries and messages are split into commits, they read back in the order
    they were committed (audit newest first, outbox oldest first)."""
    start = len(await store.outbox())
    written: list[str] = []
    for batch in batches:
        names = [f"{len(written) + i}" for i in range(len(batch))]
        written += names
        await store.commit(
            ChangeSet(
                audit=tuple(entry(m, n) for m, n in zip(batch, names, strict=True)),
                outbox=tuple(
                    OutboxMessage(m, "k", n, T0) for m, n in zip(batch, names, strict=True)
                ),
            )
        )
    assert [m.body for m in (await store.outbox())[start:]] == written
    assert [e.action for e in await store.audit_log(limit=len(written))] == written[::-1]
