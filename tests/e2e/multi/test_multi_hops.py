"""USSD sessions over several gateway processes on one database: no stickiness needed.

Every hop of a session may land on any instance (the session's position is in the
database, not in a process); the same hop delivered twice at once is applied once; a
killed instance loses nothing it acknowledged, and another instance takes the next hop.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections import Counter
from pathlib import Path

import aiohttp
import pytest
from argon2 import PasswordHasher
from multi_cluster import (
    ASK_PASSWORD,
    ASK_PUK,
    CLOSED_NOW,
    CONFIRM_CLOSE,
    DUPLICATED,
    KILL_BURST,
    KILL_DONE,
    KILL_PASSWORD,
    KILL_PUK,
    MENU_CLOSED,
    MENU_OPEN,
    OPENED,
    PASSWORD_SET,
    REPEAT_PASSWORD,
    ROAMING,
    Cluster,
    DuplicatingHandset,
    RoamingHandset,
    audit_actions,
    empty_database,
    instance_env,
    open_seeded,
    running_instances,
    wrong_puk,
)
from support import DIALECTS, PASSWORDS, SECRETS, WRONG_PUKS

from simulators.dialects import SimulatorError
from simulators.process import free_port
from state.models import ClosedBy

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.asyncio(loop_scope="module")]


def _index(dialect: str) -> int:
    return DIALECTS.index(dialect)


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_hops_alternate_between_instances(
    gateways: Cluster, http: aiohttp.ClientSession, dialect: str
) -> None:
    """Close, reopen with PUK1 (a wrong one first), set the password: every hop on the
    next instance in turn; the core's final state, read from the database, is right."""
    sub = ROAMING[_index(dialect)]
    password = PASSWORDS[_index(dialect)]
    phone = RoamingHandset(
        http, urls=gateways.urls, msisdn=sub.msisdn, dialect=dialect, secret=SECRETS[dialect]
    )
    assert (await phone.dial("*141*3*6#")).text == MENU_OPEN
    assert (await phone.send("1")).text == CONFIRM_CLOSE
    closed = await phone.send("1")
    assert (closed.text, closed.ends) == (CLOSED_NOW, True)
    assert (await gateways.store.get_subscriber(sub.msisdn)).closed_by is ClosedBy.SUBSCRIBER

    assert (await phone.dial("*141*3*6#")).text == MENU_CLOSED
    assert (await phone.send("2")).text == ASK_PUK
    assert (await phone.send(WRONG_PUKS[0])).text == wrong_puk(4)
    opened = await phone.send(sub.puk)
    assert (opened.text, opened.ends) == (OPENED, True)

    assert (await phone.dial("*141*0#")).text == ASK_PASSWORD
    assert (await phone.send(password)).text == REPEAT_PASSWORD
    done = await phone.send(password)
    assert (done.text, done.ends) == (PASSWORD_SET, True)

    # Ten hops, each on another instance than the one before, all three used.
    assert len(phone.route) == 10 and set(phone.route) == set(gateways.urls)
    assert all(a != b for a, b in itertools.pairwise(phone.route))
    final = await gateways.store.get_subscriber(sub.msisdn)
    assert final.closed_by is None and final.puk_failures == 0 and not final.puk_locked
    assert PasswordHasher().verify(final.password_hash, password)
    assert audit_actions(await gateways.store.audit_log(msisdn=sub.msisdn)) == [
        "access_closed",
        "puk_failed",
        "access_opened",
        "password_set",
    ]


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_one_hop_delivered_to_two_instances_at_once(
    gateways: Cluster, http: aiohttp.ClientSession, dialect: str
) -> None:
    """Every request of close, reopen (a wrong PUK1 first) and the password dialogue goes
    to two instances at the same moment: both answer the same bytes, each change is
    applied once (one audit entry, the version advanced once, one failure counted)."""
    sub = DUPLICATED[_index(dialect)]
    password = PASSWORDS[3]
    urls = gateways.urls
    pairs = [(urls[0], urls[1]), (urls[1], urls[2]), (urls[2], urls[0])]
    session_ids: list[str] = []

    def new_id() -> str:
        session_ids.append(f"twice-{uuid.uuid4().hex}")
        return session_ids[-1]

    phone = DuplicatingHandset(
        http,
        targets=pairs,
        msisdn=sub.msisdn,
        dialect=dialect,
        secret=SECRETS[dialect],
        new_session_id=new_id,
    )
    store = gateways.store
    version = (await store.get_subscriber(sub.msisdn)).version

    assert (await phone.dial("*141*3*6#")).text == MENU_OPEN
    assert (await phone.send("1")).text == CONFIRM_CLOSE
    assert (await phone.send("1")).text == CLOSED_NOW
    after_close = await store.get_subscriber(sub.msisdn)
    assert after_close.closed_by is ClosedBy.SUBSCRIBER and after_close.version == version + 1

    assert (await phone.dial("*141*3*6#")).text == MENU_CLOSED
    assert (await phone.send("2")).text == ASK_PUK
    assert (await phone.send(WRONG_PUKS[1])).text == wrong_puk(4)
    after_wrong = await store.get_subscriber(sub.msisdn)
    assert after_wrong.puk_failures == 1 and after_wrong.version == version + 2
    assert (await phone.send(sub.puk)).text == OPENED

    assert (await phone.dial("*141*0#")).text == ASK_PASSWORD
    assert (await phone.send(password)).text == REPEAT_PASSWORD
    assert (await phone.send(password)).text == PASSWORD_SET

    for copies in phone.copies:
        assert len({c.url for c in copies}) == 2
        assert all(c.status == 200 for c in copies), [(c.status, c.body) for c in copies]
        assert len({(c.content_type, c.body) for c in copies}) == 1, copies
    # The instances' logs: of every hop's two copies, one was applied and one was answered
    # as a repeat (whether it lost the race on the commit or came second).
    outcomes = Counter(
        "repeat" if line["outcome"] == "repeat" else "applied"
        for instance in gateways.instances
        for line in instance.events("ussd_hop")
        if line.get("session_id") in session_ids
    )
    assert outcomes == Counter(applied=len(phone.copies), repeat=len(phone.copies))
    final = await store.get_subscriber(sub.msisdn)
    assert final.closed_by is None and final.puk_failures == 0
    assert final.version == version + 4  # closed, one failure, opened, password
    assert PasswordHasher().verify(final.password_hash, password)
    assert audit_actions(await store.audit_log(msisdn=sub.msisdn)) == [
        "access_closed",
        "puk_failed",
        "access_opened",
        "password_set",
    ]


async def test_killed_instance_loses_nothing_it_acknowledged(
    gateways: Cluster, http: aiohttp.ClientSession
) -> None:
    """An extra instance takes sessions, then a burst of hops, and is killed with SIGKILL in
    the middle of the burst. Whatever it answered is in the database; every session it
    held goes on on the other instances (an unanswered hop is sent again there, as a USSD
    centre retries), and no change is applied twice."""
    store = gateways.store
    async with gateways.more(1, prefix="doomed") as (doomed,):

        def phone(msisdn: str, dialect: str = "native") -> RoamingHandset:
            return RoamingHandset(
                http, urls=[doomed.url], msisdn=msisdn, dialect=dialect, secret=SECRETS[dialect]
            )

        # Acknowledged before the kill: closures finished, password dialogues and a PUK1
        # session half-way (their first step answered).
        async def close(msisdn: str) -> None:
            handset = phone(msisdn)
            await handset.dial("*141*3*6#")
            await handset.send("1")
            assert (await handset.send("1")).text == CLOSED_NOW

        await asyncio.gather(*(close(s.msisdn) for s in KILL_DONE))
        passwords = [phone(s.msisdn, DIALECTS[n]) for n, s in enumerate(KILL_PASSWORD)]
        for handset in passwords:
            await handset.dial("*141*0#")
            assert (await handset.send(PASSWORDS[2])).text == REPEAT_PASSWORD
        puk = phone(KILL_PUK[0].msisdn, "hubtel")
        assert (await puk.dial("*141*3*6*2#")).text == ASK_PUK
        assert (await puk.send(WRONG_PUKS[2])).text == wrong_puk(4)
        assert (await puk.send(WRONG_PUKS[3])).text == wrong_puk(3)

        # A burst of closures on the doomed instance; it dies after a few answers.
        answered = 0
        enough = asyncio.Event()
        burst = [phone(s.msisdn, DIALECTS[n % 3]) for n, s in enumerate(KILL_BURST)]

        async def step(handset: RoamingHandset, text: str, *, dial: bool = False) -> str:
            nonlocal answered
            try:
                screen = await (handset.dial(text) if dial else handset.send(text))
            except SimulatorError:
                # Unanswered: the USSD centre sends the same request to another instance.
                handset.pin(*gateways.urls)
                screen = await handset.resend()
            answered += 1
            if answered >= 10:
                enough.set()
            return screen.text

        async def closure(handset: RoamingHandset) -> list[str]:
            return [
                await step(handset, "*141*3*6#", dial=True),
                await step(handset, "1"),
                await step(handset, "1"),
            ]

        tasks = [asyncio.create_task(closure(h)) for h in burst]
        try:
            await asyncio.wait_for(enough.wait(), 20)
        finally:
            doomed.kill()
        screens = await asyncio.wait_for(asyncio.gather(*tasks), 30)
        assert not doomed.alive

    assert screens == [[MENU_OPEN, CONFIRM_CLOSE, CLOSED_NOW]] * len(KILL_BURST)
    moved = [h for h in burst if any(u != doomed.url for u in h.route)]
    assert moved, "the kill came after every hop of the burst: nothing was carried on"

    # The sessions held by the dead instance go on elsewhere.
    for n, handset in enumerate(passwords):
        handset.pin(gateways.urls[n % 3])
        assert (await handset.send(PASSWORDS[2])).text == PASSWORD_SET
    puk.pin(gateways.urls[1])
    assert (await puk.send(KILL_PUK[0].puk)).text == OPENED

    for sub in (*KILL_DONE, *KILL_BURST):
        row = await store.get_subscriber(sub.msisdn)
        assert row.closed_by is ClosedBy.SUBSCRIBER, sub.msisdn
        assert audit_actions(await store.audit_log(msisdn=sub.msisdn)) == ["access_closed"]
    for sub in KILL_PASSWORD:
        row = await store.get_subscriber(sub.msisdn)
        assert PasswordHasher().verify(row.password_hash, PASSWORDS[2])
        assert audit_actions(await store.audit_log(msisdn=sub.msisdn)) == ["password_set"]
    row = await store.get_subscriber(KILL_PUK[0].msisdn)
    assert row.closed_by is None and row.puk_failures == 0
    # The seed's closure, the two wrong PUK1s acknowledged before the kill, the opening.
    assert audit_actions(await store.audit_log(msisdn=KILL_PUK[0].msisdn)) == [
        "access_closed",
        "puk_failed",
        "puk_failed",
        "access_opened",
    ]


async def test_instances_started_together_on_an_empty_database(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """Three instances started at once on a database nobody has migrated yet (a first
    deployment): all of them come up (they migrate in turn, not over each other), and each
    answers hops."""
    async with empty_database(tmp_path) as database:
        env = instance_env(database, f"http://127.0.0.1:{free_port()}", tmp_path / "out.jsonl")
        async with running_instances(env, 3, tmp_path, prefix="fresh") as instances:
            store = await open_seeded(database)  # the migration is done: this only seeds
            try:
                sub = ROAMING[0]
                for instance in instances:
                    phone = RoamingHandset(
                        http, urls=[instance.url], msisdn=sub.msisdn, secret=SECRETS["native"]
                    )
                    assert (await phone.dial("*141*3*6#")).text == MENU_OPEN
                    await phone.abort()
            finally:
                await store.close()
