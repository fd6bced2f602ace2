"""Races of several instances on one subscriber, and three outbox workers on one outbox.

Counters stay exact however the requests are spread (optimistic versions in the shared
database), and every SMS leaves exactly once whichever instance's worker leases it.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import aiohttp
import pytest
from multi_cluster import (
    ASK_PUK,
    CODES,
    LOCKED_NOW,
    PUK_LOCKED,
    PUK_STORM,
    SEALER,
    VERIFY,
    Cluster,
    RoamingHandset,
    api_post,
    audit_actions,
    code_in,
    eventually,
    last_code,
    wrong_puk,
)
from support import DIALECTS, SECRETS, WRONG_PUKS

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.asyncio(loop_scope="module")]

SETTLE_SECONDS = 1.5
"""After the last send: more than one idle pass of every worker (1 s), so a second send of
anything would have happened by then."""


async def test_twenty_wrong_puks_over_three_instances_lock_once(
    gateways: Cluster, http: aiohttp.ClientSession
) -> None:
    """20 sessions of one subscriber, begun on all three instances, each send a wrong PUK1
    at the same moment to another instance: exactly 5 failures are counted, one session
    locks opening, the other 15 are told it is locked; one alert SMS, sent once."""
    sub = PUK_STORM[0]
    store = gateways.store
    urls = gateways.urls
    phones = [
        RoamingHandset(
            http,
            urls=[urls[n % 3], urls[(n + 1) % 3]],
            msisdn=sub.msisdn,
            dialect=DIALECTS[n % 3],
            secret=SECRETS[DIALECTS[n % 3]],
        )
        for n in range(20)
    ]
    prompts = await asyncio.gather(*(p.dial("*141*3*6*2#") for p in phones))
    assert {s.text for s in prompts} == {ASK_PUK}
    screens = await asyncio.gather(
        *(p.send(WRONG_PUKS[n % len(WRONG_PUKS)]) for n, p in enumerate(phones))
    )

    assert Counter(s.text for s in screens) == Counter(
        {
            wrong_puk(4): 1,
            wrong_puk(3): 1,
            wrong_puk(2): 1,
            wrong_puk(1): 1,
            LOCKED_NOW: 1,
            PUK_LOCKED: 15,
        }
    )
    assert {tuple(p.route) for p in phones} == {(urls[n % 3], urls[(n + 1) % 3]) for n in range(3)}
    row = await store.get_subscriber(sub.msisdn)
    assert row.puk_failures == 5 and row.puk_locked
    audit = await store.audit_log(msisdn=sub.msisdn)
    failed = sorted(e.detail["failures"] for e in audit if e.action == "puk_failed")
    assert failed == [1, 2, 3, 4, 5]
    assert [e.action for e in audit].count("puk_locked") == 1

    (alert,) = await store.outbox(sub.msisdn)
    assert alert.kind == "puk_locked_alert"

    async def sent() -> bool:
        (current,) = await store.outbox(sub.msisdn)
        return current.status == "sent"

    await eventually(sent, "the lock alert was sent")
    await asyncio.sleep(SETTLE_SECONDS)
    (current,) = await store.outbox(sub.msisdn)
    assert (current.status, current.attempts) == ("sent", 1)
    (delivered,) = gateways.sms_to(sub.msisdn)
    assert "5 неверных PUK1" in delivered["text"]


async def test_three_outbox_workers_send_every_sms_once(
    gateways: Cluster, http: aiohttp.ClientSession
) -> None:
    """30 code requests spread over the instances at once: 30 SMS in the outbox, each
    leased by one of the three workers and received by the SMSC exactly once.

    The SMSC takes longer to accept a message than a worker's idle pass (1 s): a worker
    that leased a batch (at most 20) is still sending it when the others look, so another
    worker must lease the rest: more than one instance sends, whatever their phases."""
    store = gateways.store
    urls = gateways.urls
    gateways.smsc.delay = 1.2
    try:
        answers = await asyncio.gather(
            *(
                api_post(
                    http, urls[n % 3], "/api/v1/codes", {"msisdn": s.msisdn, "purpose": "login"}
                )
                for n, s in enumerate(CODES)
            )
        )
        assert [status for status, _ in answers] == [202] * len(CODES)

        async def all_sent() -> bool:
            rows = [await store.outbox(s.msisdn) for s in CODES]
            return all(len(r) == 1 and r[0].status == "sent" for r in rows)

        await eventually(all_sent, "all 30 code SMS were sent")
    finally:
        gateways.smsc.delay = 0.0
    await asyncio.sleep(SETTLE_SECONDS)

    ids = set()
    for sub in CODES:
        (row,) = await store.outbox(sub.msisdn)
        assert (row.status, row.attempts) == ("sent", 1)
        (delivered,) = gateways.sms_to(sub.msisdn)
        assert code_in(delivered["text"]) == code_in(SEALER.open(row.body))
        ids.add(row.id)
    # Each message was sent by exactly one instance's worker, as their logs say.
    senders = [
        (instance.name, line["message_id"])
        for instance in gateways.instances
        for line in instance.events("sms_send")
        if line.get("message_id") in ids
    ]
    assert sorted(m for _, m in senders) == sorted(ids)
    assert len({name for name, _ in senders}) > 1, Counter(name for name, _ in senders)
    assert all(
        line["outcome"] == "accepted"
        for i in gateways.instances
        for line in i.events("sms_send")
        if line.get("message_id") in ids
    )


async def test_twenty_parallel_checks_of_one_code_succeed_once(
    gateways: Cluster, http: aiohttp.ClientSession
) -> None:
    """One code, checked 20 times at once over the three instances: one 200, 19 uniform
    401s. The counters are exact: the first check to commit is the success (every check
    read the code unused; the others lost the race on the guard and read again), so the
    later ones count as failures until the 10th locks checks, and the locked ones are not
    counted at all: the guard's version advanced by exactly 1 + 10."""
    sub = VERIFY[0]
    store = gateways.store
    urls = gateways.urls
    status, _ = await api_post(
        http, urls[0], "/api/v1/codes", {"msisdn": sub.msisdn, "purpose": "login"}
    )
    assert status == 202
    code = await last_code(store, sub.msisdn)
    before = (await store.load_codes(sub.msisdn, "login", time.time())).guard
    check = {"msisdn": sub.msisdn, "purpose": "login", "code": code}
    answers = await asyncio.gather(
        *(api_post(http, urls[n % 3], "/api/v1/codes/verify", check) for n in range(20))
    )
    assert sorted(status for status, _ in answers) == [200] + [401] * 19, answers
    assert {str(body) for status, body in answers if status == 401} == {
        str({"error": "invalid_code", "message": "the code is not valid"})
    }
    snap = await store.load_codes(sub.msisdn, "login", time.time())
    assert (snap.guard.failures, snap.guard.version) == (10, before.version + 11)
    assert snap.guard.locked_until is not None
    assert snap.code is not None and snap.code.used_at is not None
    actions = audit_actions(await store.audit_log(msisdn=sub.msisdn))
    assert actions == ["code_issued", "code_used", "code_checks_locked"]
