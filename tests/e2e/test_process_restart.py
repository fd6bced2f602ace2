"""The gateway as a real process: kill -9 and restart lose nothing that was answered."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from support import CLOSED_SELF, PEPPER_HEX, SECRETS, WRONG_PUKS

from simulators.handset import Handset
from simulators.process import gateway_process
from state.sqlite import SqliteStore
from ussd_gateway.config import Settings

pytestmark = pytest.mark.slow


async def test_puk_lock_and_session_survive_kill_and_restart(
    settings: Settings, store: SqliteStore, tmp_path: Path
) -> None:
    """Lock PUK1 through 5 sessions, leave a session mid-way, kill -9, restart: all kept."""
    log = tmp_path / "gateway.log"
    env = {
        "USSD_GATEWAY_DATABASE": str(settings.database),
        "USSD_GATEWAY_PUK_PEPPER": PEPPER_HEX,
        "USSD_GATEWAY_SECRET_NATIVE": SECRETS["native"],
        "USSD_GATEWAY_OUTBOX_FILE": str(tmp_path / "outbox.jsonl"),
    }

    def phone(http: aiohttp.ClientSession, url: str) -> Handset:
        return Handset(http, url=url, msisdn=CLOSED_SELF.msisdn, dialect="native",
                       secret=SECRETS["native"])

    async with aiohttp.ClientSession() as http:
        async with gateway_process(env, log=log) as gateway:
            for wrong in WRONG_PUKS[:5]:
                attempt = phone(http, gateway.url)
                await attempt.dial("*141*3*6#")
                await attempt.send("2")
                last = await attempt.send(wrong)
            assert last.ends and "заблокировано" in last.text
            pending = phone(http, gateway.url)
            await pending.dial("*141*3*6#")
            gateway.kill()
        async with gateway_process(env, log=log) as gateway:
            pending._url = gateway.url
            # The session's position survived: its menu is still waiting for a choice.
            refused = await pending.send("2")
            assert refused.ends and "контакт-центр 150" in refused.text
            # A fresh session with the right PUK1 is still refused: the lock is durable.
            fresh = phone(http, gateway.url)
            await fresh.dial("*141*3*6#")
            assert (await fresh.send("2")).text == refused.text
    sub = await store.get_subscriber(CLOSED_SELF.msisdn)
    assert sub.puk_locked and sub.puk_failures == 5
    assert [m.kind for m in await store.outbox(CLOSED_SELF.msisdn)] == ["puk_locked_alert"]
    # The alert left through the (file) sender exactly once, across the kill and restart.
    sent = (tmp_path / "outbox.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(sent) == 1 and "5 неверных PUK1" in sent[0]
    gateway_log = log.read_text(encoding="utf-8")
    assert "ussd_hop" in gateway_log
    for secret in (*WRONG_PUKS[:5], CLOSED_SELF.puk):
        assert secret not in gateway_log
