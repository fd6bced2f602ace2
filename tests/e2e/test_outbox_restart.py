"""The outbox survives a kill of the gateway between commit and send: after a restart the
SMS is sent, exactly once (as the SMSC simulator's record shows)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from support import OPEN_RU, PEPPER_HEX

from simulators.process import free_port, gateway_process
from simulators.smsc import FakeSmsc
from state.credentials import Pepper, Sealer
from state.models import ChangeSet, OutboxMessage
from state.sqlite import SqliteStore
from state.store import OutboxRow
from ussd_gateway.config import Settings

pytestmark = pytest.mark.slow

KANNEL_PASSWORD = "smsc-pw-5521"
TEXT = "Код подтверждения: 581302"


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float, what: str) -> None:
    """Poll ``check`` until it holds, or fail naming ``what``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.05)
    pytest.fail(f"not within {seconds:.0f} s: {what}")


async def test_outbox_survives_kill_between_commit_and_send(
    settings: Settings, store: SqliteStore, tmp_path: Path
) -> None:
    """A sealed code SMS is committed while no gateway runs (as if it died right after
    the commit); a gateway whose SMSC is unreachable tries once and is killed -9; the next
    one sends it to the SMSC after the backoff; a third start sends nothing more."""
    sealer = Sealer(Pepper.from_hex(PEPPER_HEX))
    message = OutboxMessage(OPEN_RU.msisdn, "code", sealer.seal(TEXT), time.time())
    await store.commit(ChangeSet(outbox=(message,)))
    (committed,) = await store.outbox(OPEN_RU.msisdn)
    record = tmp_path / "smsc.jsonl"
    smsc = FakeSmsc(username="tester", password=KANNEL_PASSWORD, record=record)
    smsc_url = await smsc.start("127.0.0.1", 0)
    log = tmp_path / "gateway.log"
    env = {
        "USSD_GATEWAY_DATABASE": str(settings.database),
        "USSD_GATEWAY_PUK_PEPPER": PEPPER_HEX,
        "USSD_GATEWAY_SMS_SENDER": "kannel",
        "USSD_GATEWAY_KANNEL_USERNAME": "tester",
        "USSD_GATEWAY_KANNEL_PASSWORD": KANNEL_PASSWORD,
        "USSD_GATEWAY_OUTBOX_FILE": str(tmp_path / "file-sender.jsonl"),
    }
    nowhere = f"http://127.0.0.1:{free_port()}/cgi-bin/sendsms"
    reachable = f"{smsc_url}/cgi-bin/sendsms"

    async def row() -> OutboxRow:
        (current,) = await store.outbox(OPEN_RU.msisdn)
        return current

    async def tried() -> bool:
        return (await row()).result is not None

    async def sent() -> bool:
        return (await row()).status == "sent"

    try:
        async with gateway_process(
            {**env, "USSD_GATEWAY_KANNEL_SENDSMS_URL": nowhere}, log=log
        ) as gateway:
            await eventually(tried, 10, "the first gateway tried to send")
            gateway.kill()
        first = await row()
        assert (first.status, first.attempts) == ("pending", 1)
        assert first.result is not None and first.result.startswith("retry: connection")
        assert smsc.messages == []

        async with gateway_process(
            {**env, "USSD_GATEWAY_KANNEL_SENDSMS_URL": reachable}, log=log
        ) as gateway:
            await eventually(sent, 30, "the restarted gateway sent the SMS")
            gateway.kill()

        async with gateway_process({**env, "USSD_GATEWAY_KANNEL_SENDSMS_URL": reachable}, log=log):
            await asyncio.sleep(2.5)  # a worker pass or two: nothing is due any more
    finally:
        await smsc.stop()

    done = await row()
    assert (done.id, done.status, done.attempts) == (committed.id, "sent", 2)
    assert done.body.startswith(Sealer.PREFIX)  # still sealed at rest
    recorded = [json.loads(line) for line in record.read_text(encoding="utf-8").splitlines()]
    assert [(m["to"], m["text"], m["coding"]) for m in recorded] == [
        ("+" + OPEN_RU.msisdn, TEXT, 2)
    ]
    gateway_log = log.read_text(encoding="utf-8")
    assert "sms_send" in gateway_log
    assert TEXT not in gateway_log and "581302" not in gateway_log
    assert KANNEL_PASSWORD not in gateway_log
