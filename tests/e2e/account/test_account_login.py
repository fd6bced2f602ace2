"""Every way in over HTTP (seed 000, 001 §1.3–1.6, 002), and the whole USSD ⇄ web loop."""

from __future__ import annotations

import asyncio
import re
import statistics
import time

import pytest
from account_world import (
    ACME_ADMIN,
    CRAFTSMAN,
    OPERATOR,
    PASSPORT,
    PERSON,
    SOLE,
    UNP,
    Api,
    Mailbox,
)
from support import ACCOUNT_SECRETS, OPEN_RU, assert_not_stored, read_log

from simulators.handset import Handset
from ussd_gateway.config import Settings

PASSWORD, SECOND, ACCOUNT_PASSWORD, MAIL_PASSWORD = ACCOUNT_SECRETS[:4]


async def test_sms_login_leaves_the_password_alone(api: Api) -> None:
    """A login code opens a session; the permanent password still works (seed 001 §1.3)."""
    await api.register(OPEN_RU.msisdn, PASSWORD)
    before = (await api.store.get_subscriber(OPEN_RU.msisdn)).password_hash
    api.clock.advance(61)
    code = await api.code_for(OPEN_RU.msisdn, "login")
    answer = await api.post("/api/v1/login/sms", {"msisdn": "8 029 111-22-33", "code": code})
    assert answer.status == 200 and answer.body["method"] == "sms"
    assert not answer.body["must_change_password"]
    assert (await api.store.get_subscriber(OPEN_RU.msisdn)).password_hash == before
    again = await api.post("/api/v1/login/sms", {"msisdn": OPEN_RU.msisdn, "code": code})
    assert (again.status, again.error) == (401, "invalid_credentials")  # single use
    await api.login(OPEN_RU.msisdn, PASSWORD)


async def test_every_login_gets_a_new_long_token(api: Api) -> None:
    """New random tokens (≥ 128 bits), stored only as digests."""
    await api.register(OPEN_RU.msisdn, PASSWORD)
    tokens = {await api.login(OPEN_RU.msisdn, PASSWORD) for _ in range(3)}
    assert len(tokens) == 3 and all(len(t) >= 43 for t in tokens)  # 32 bytes, base64url
    assert_not_stored(api.store.path, *tokens, PASSWORD)


async def test_account_number_login_is_a_claim_then_a_code_then_a_new_password(api: Api) -> None:
    """Passport number: a challenge, an SMS code, a forced change; afterwards the passport
    number no longer works and the new account password does (case 10)."""
    start = await api.post("/api/v1/login/account", {"account": "100054321", "password": PASSPORT})
    assert start.status == 202
    code = await api.last_code(PERSON.msisdn)
    done = await api.post("/api/v1/login/account/confirm", {"challenge": start.body["challenge"], "code": code})
    assert done.status == 200 and done.body["must_change_password"] and done.body["msisdn"] == PERSON.msisdn
    token = done.body["token"]
    blocked = await api.get("/api/v1/client/subscribers", token=token)
    assert (blocked.status, blocked.error) == (403, "password_change_required")
    same = await api.post("/api/v1/session/password",
                          {"password": PASSPORT + "x", "password_confirmation": PASSPORT + "x"}, token=token)
    assert same.status == 200  # not the passport itself: accepted
    assert (await api.get("/api/v1/session", token=token)).status == 401  # the change ended it
    new_token = same.body["token"]
    assert (await api.get("/api/v1/session", token=new_token)).body["must_change_password"] is False
    # The passport number is no password any more: its challenge leads nowhere.
    api.clock.advance(61)
    sent_before = len(await api.store.outbox(PERSON.msisdn))
    stale = await api.post("/api/v1/login/account", {"account": "100054321", "password": PASSPORT})
    assert stale.status == 202 and len(await api.store.outbox(PERSON.msisdn)) == sent_before
    refused = await api.post("/api/v1/login/account/confirm", {"challenge": stale.body["challenge"], "code": code})
    assert refused.status == 401
    # The account password that replaced it works, still with an SMS code and no forced change.
    fresh = await api.post("/api/v1/login/account", {"account": "100054321", "password": PASSPORT + "x"})
    code = await api.last_code(PERSON.msisdn)
    ok = await api.post("/api/v1/login/account/confirm", {"challenge": fresh.body["challenge"], "code": code})
    assert ok.status == 200 and not ok.body["must_change_password"]
    assert "account_password_set" in {e.action for e in await api.store.audit_log(msisdn=PERSON.msisdn)}


async def test_account_login_refuses_the_passport_as_the_new_password(api: Api) -> None:
    """The forced change can't keep the identity number (case 10)."""
    start = await api.post("/api/v1/login/account", {"account": "200012345", "password": UNP})
    code = await api.last_code(ACME_ADMIN.msisdn)
    token = (await api.post("/api/v1/login/account/confirm", {"challenge": start.body["challenge"], "code": code})).body["token"]
    answer = await api.post("/api/v1/session/password", {"password": UNP, "password_confirmation": UNP}, token=token)
    assert (answer.status, answer.error) == (422, "password_reused")


async def test_account_claims_that_fail_look_like_ones_that_hold(api: Api) -> None:
    """Unknown account, wrong passport, a UNP-length number for an individual: the same 202,
    and no SMS goes anywhere."""
    sent = len(await api.store.outbox(PERSON.msisdn))
    answers = [
        await api.post("/api/v1/login/account", {"account": "999999999", "password": PASSPORT}),
        await api.post("/api/v1/login/account", {"account": "100054321", "password": "7654321"}),
        await api.post("/api/v1/login/account", {"account": "100054321", "password": UNP}),
    ]
    assert {a.status for a in answers} == {202}
    assert {tuple(sorted(a.body)) for a in answers} == {("challenge", "status")}
    assert len(await api.store.outbox(PERSON.msisdn)) == sent


async def test_email_login_sends_an_m_code_every_time(api: Api) -> None:
    """E-mail + password → an M-code to the single contact number, at every login (§1.6.3)."""
    await api.register(ACME_ADMIN.msisdn, MAIL_PASSWORD)
    for _ in range(2):
        api.clock.advance(61)
        sent = len(await api.store.outbox(ACME_ADMIN.msisdn))
        start = await api.post("/api/v1/login/email", {"email": "IT@acme.example.by", "password": MAIL_PASSWORD})
        assert start.status == 202 and len(await api.store.outbox(ACME_ADMIN.msisdn)) == sent + 1
        code = await api.last_code(ACME_ADMIN.msisdn)
        done = await api.post("/api/v1/login/email/confirm", {"challenge": start.body["challenge"], "code": code})
        assert done.status == 200 and done.body["method"] == "email"
        assert done.body["msisdn"] == ACME_ADMIN.msisdn


async def test_email_login_is_for_businesses_craftsmen_and_the_self_employed(api: Api) -> None:
    """A craftsman may; a plain individual with an e-mail may not (§1.6)."""
    await api.register(CRAFTSMAN.msisdn, MAIL_PASSWORD)
    api.clock.advance(61)  # one code a minute per number, whatever its purpose
    ok = await api.post("/api/v1/login/email", {"email": "craft@example.by", "password": MAIL_PASSWORD})
    assert ok.status == 202
    await api.register(PERSON.msisdn, MAIL_PASSWORD)
    refused = await api.post("/api/v1/login/email", {"email": "person@example.by", "password": MAIL_PASSWORD})
    assert (refused.status, refused.error) == (403, "email_login_unavailable")
    wrong = await api.post("/api/v1/login/email", {"email": "person@example.by", "password": SECOND})
    assert wrong.status == 202  # a wrong password learns nothing about the client's kind


async def test_an_m_code_is_no_login_code(api: Api) -> None:
    """Codes are bound to their purpose: an M-code can't finish an SMS login (case 3)."""
    await api.register(SOLE.msisdn, MAIL_PASSWORD)
    api.clock.advance(61)
    start = await api.post("/api/v1/login/email", {"email": "sole@example.by", "password": MAIL_PASSWORD})
    assert start.status == 202
    m_code = await api.last_code(SOLE.msisdn)
    answer = await api.post("/api/v1/login/sms", {"msisdn": SOLE.msisdn, "code": m_code})
    assert answer.status == 401
    account = await api.post("/api/v1/login/account/confirm", {"challenge": start.body["challenge"], "code": m_code})
    assert account.status == 401  # an e-mail challenge is not an account challenge


async def test_temporary_password_by_email(api: Api, mailbox: Mailbox) -> None:
    """A letter over real SMTP; single use; forced change; can't be kept (case 11)."""
    await api.register(SOLE.msisdn, PASSWORD)
    answer = await api.post("/api/v1/password/forgot", {"msisdn": SOLE.msisdn})
    assert (answer.status, answer.body) == (202, {"status": "accepted"})
    letter = (await mailbox.wait(1))[0]
    assert letter["To"] == "sole@example.by" and "Личный кабинет" in letter["Subject"]
    temporary = re.search(r"Временный пароль: (\S+)", letter.get_payload(decode=True).decode()).group(1)
    assert len(temporary) >= 12
    session = await api.post("/api/v1/login/password", {"msisdn": SOLE.msisdn, "password": temporary})
    assert session.status == 200 and session.body["must_change_password"]
    assert session.body["method"] == "temporary_password"
    reuse = await api.post("/api/v1/login/password", {"msisdn": SOLE.msisdn, "password": temporary})
    assert (reuse.status, reuse.error) == (401, "invalid_credentials")
    keep = await api.post("/api/v1/session/password",
                          {"password": temporary, "password_confirmation": temporary}, token=session.body["token"])
    assert (keep.status, keep.error) == (422, "password_reused")
    changed = await api.post("/api/v1/session/password",
                             {"password": SECOND, "password_confirmation": SECOND}, token=session.body["token"])
    assert changed.status == 200
    await api.login(SOLE.msisdn, SECOND)
    assert (await api.post("/api/v1/login/password", {"msisdn": SOLE.msisdn, "password": PASSWORD})).status == 401
    assert temporary not in "".join(str(line) for line in read_log())
    assert_not_stored(api.store.path, temporary)


async def test_temporary_password_expiry_and_replacement(api: Api, mailbox: Mailbox) -> None:
    """A second letter kills the first; 24 h + 1 s is too late; the permanent password
    still works meanwhile (nobody can lock a subscriber out by asking)."""
    await api.register(SOLE.msisdn, PASSWORD)

    async def letter(n: int) -> str:
        assert (await api.post("/api/v1/password/forgot", {"msisdn": SOLE.msisdn})).status == 202
        body = (await mailbox.wait(n))[n - 1].get_payload(decode=True).decode()
        return re.search(r"Временный пароль: (\S+)", body).group(1)

    first = await letter(1)
    api.clock.advance(61)
    second = await letter(2)
    assert first != second
    assert (await api.post("/api/v1/login/password", {"msisdn": SOLE.msisdn, "password": first})).status == 401
    await api.login(SOLE.msisdn, PASSWORD)
    api.clock.advance(24 * 3600 + 1)
    late = await api.post("/api/v1/login/password", {"msisdn": SOLE.msisdn, "password": second})
    assert (late.status, late.error) == (401, "invalid_credentials")


async def test_forgotten_password_answers_alike_for_everyone(api: Api, mailbox: Mailbox) -> None:
    """Unknown number, no e-mail on file, a real letter: the same 202; one letter only."""
    answers = [await api.post("/api/v1/password/forgot", {"msisdn": m})
               for m in ("375290000009", OPEN_RU.msisdn, SOLE.msisdn)]
    assert {(a.status, str(a.body)) for a in answers} == {(202, "{'status': 'accepted'}")}
    await mailbox.wait(1)
    await asyncio.sleep(0.3)
    assert len(mailbox.messages) == 1


async def test_closed_access_refuses_every_way_in_alike(api: Api) -> None:
    """Closed by the operator: password, SMS code, account number and e-mail logins all get
    the same refusal once their proof succeeds; a wrong proof still gets the uniform 401."""
    await api.register(ACME_ADMIN.msisdn, PASSWORD)
    closed = await api.post(f"/api/v1/operator/subscribers/{ACME_ADMIN.msisdn}/access",
                            {"action": "close", "reason": "lost_sim"}, headers=OPERATOR)
    assert closed.status == 200
    api.clock.advance(61)
    code = await api.code_for(ACME_ADMIN.msisdn, "login")
    refusals = [
        await api.post("/api/v1/login/password", {"msisdn": ACME_ADMIN.msisdn, "password": PASSWORD}),
        await api.post("/api/v1/login/sms", {"msisdn": ACME_ADMIN.msisdn, "code": code}),
        await api.post("/api/v1/login/account", {"account": "200012345", "password": UNP}),
        await api.post("/api/v1/login/email", {"email": "it@acme.example.by", "password": PASSWORD}),
    ]
    assert {(r.status, r.error, r.body["message"]) for r in refusals} == {
        (403, "access_closed", "access was closed by the operator; call the contact centre on 150")
    }
    wrong = await api.post("/api/v1/login/password", {"msisdn": ACME_ADMIN.msisdn, "password": SECOND})
    assert (wrong.status, wrong.error) == (401, "invalid_credentials")


@pytest.mark.parametrize("dialect_name", ["native"])
async def test_the_whole_loop_ussd_and_web(api: Api, settings: Settings, dialect_name: str) -> None:
    """*141*0# sets a password → it logs in; *141*3*6# closes → every login refused and the
    live session ends; PUK1 reopens → login works again."""
    from support import SECRETS

    phone = Handset(api.http, url=str(api.server.make_url("")), msisdn=OPEN_RU.msisdn,
                    dialect=dialect_name, secret=SECRETS[dialect_name])
    await phone.dial("*141*0#")
    await phone.send(PASSWORD)
    done = await phone.send(PASSWORD)
    assert "set" in done.text.lower() or "установлен" in done.text.lower()
    token = await api.login(OPEN_RU.msisdn, PASSWORD)

    await phone.dial("*141*3*6#")
    await phone.send("1")
    await phone.send("1")
    assert not (await api.store.get_subscriber(OPEN_RU.msisdn)).access_open
    gone = await api.get("/api/v1/session", token=token)
    assert (gone.status, gone.error) == (401, "session_ended")
    refused = await api.post("/api/v1/login/password", {"msisdn": OPEN_RU.msisdn, "password": PASSWORD})
    assert (refused.status, refused.error) == (403, "access_closed")
    assert "*141*3*6#" in refused.body["message"]

    await phone.dial("*141*3*6#")
    await phone.send("2")
    await phone.send(OPEN_RU.puk)
    assert (await api.store.get_subscriber(OPEN_RU.msisdn)).access_open
    await api.login(OPEN_RU.msisdn, PASSWORD)
    # And a new password by USSD ends the web sessions of the old one.
    token = await api.login(OPEN_RU.msisdn, PASSWORD)
    await phone.dial("*141*0#")
    await phone.send(SECOND)
    await phone.send(SECOND)
    assert (await api.get("/api/v1/session", token=token)).status == 401
    await api.login(OPEN_RU.msisdn, SECOND)


async def test_failed_logins_are_alike_for_known_and_unknown_numbers(api: Api) -> None:
    """Same status and body, and timing distributions that overlap (case 6): each failed
    login does the same two argon2 verifications whether or not anyone is there."""
    await api.register(OPEN_RU.msisdn, PASSWORD)
    await api.register(SOLE.msisdn, PASSWORD)

    async def attempt(msisdn: str) -> tuple[float, int, object]:
        started = time.perf_counter()
        answer = await api.post("/api/v1/login/password", {"msisdn": msisdn, "password": SECOND})
        return time.perf_counter() - started, answer.status, answer.body

    await attempt("375290000009")  # warm-up (the dummy hash is made once)
    known, unknown, no_password = [], [], []
    for _ in range(15):  # interleaved, so drift of the machine hits all alike
        known.append(await attempt(OPEN_RU.msisdn))
        unknown.append(await attempt("375290000009"))
        no_password.append(await attempt(PERSON.msisdn))
    answers = {(s, str(b)) for _, s, b in known + unknown + no_password}
    assert len(answers) == 1 and next(iter(answers))[0] == 401
    medians = [statistics.median(t for t, _, _ in group) for group in (known, unknown, no_password)]
    assert max(medians) / min(medians) < 1.5, medians
    # Distributions overlap: each group's middle half meets the others'.
    quartiles = [statistics.quantiles([t for t, _, _ in g], n=4) for g in (known, unknown, no_password)]
    assert max(q[0] for q in quartiles) <= min(q[2] for q in quartiles), quartiles


async def test_password_guessing_locks_checks_with_a_growing_delay(api: Api) -> None:
    """10 wrong passwords in a row lock password checks for 30 s (then 60 s …); while locked
    even the right password gets the uniform 401; strangers' numbers are counted alike."""
    await api.register(OPEN_RU.msisdn, PASSWORD)
    for msisdn in (OPEN_RU.msisdn, "375290000009"):
        for _ in range(10):
            wrong = await api.post("/api/v1/login/password", {"msisdn": msisdn, "password": SECOND})
            assert wrong.status == 401
        guard = await api.store.get_guard(f"password:{msisdn}")
        assert guard.failures == 10 and guard.locked_until == api.clock.now + 30
    locked = await api.post("/api/v1/login/password", {"msisdn": OPEN_RU.msisdn, "password": PASSWORD})
    assert (locked.status, locked.error) == (401, "invalid_credentials")
    api.clock.advance(31)
    await api.login(OPEN_RU.msisdn, PASSWORD)
    assert (await api.store.get_guard(f"password:{OPEN_RU.msisdn}")).failures == 0
