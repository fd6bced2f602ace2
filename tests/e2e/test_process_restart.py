"""The gateway as a real process: kill -9 and restart lose nothing that was answered."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest

from conftest import CLOSED_SELF, PEPPER_HEX, SECRETS, WRONG_PUKS
from simulators.handset import Handset
from state.sqlite import SqliteStore
from ussd_gateway.config import Settings

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def running_gateway(database: Path, log: Path) -> AsyncIterator[tuple[str, Callable[[], None]]]:
    """Start ``ussd-gateway serve`` on a free port; yield its URL and a kill -9 function."""
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("USSD_GATEWAY_")},
        "USSD_GATEWAY_DATABASE": str(database),
        "USSD_GATEWAY_PUK_PEPPER": PEPPER_HEX,
        "USSD_GATEWAY_SECRET_NATIVE": SECRETS["native"],
        "USSD_GATEWAY_PORT": str(port),
    }
    with log.open("ab") as out:
        proc = subprocess.Popen(  # noqa: S603 - our own entry point
            [sys.executable, "-m", "ussd_gateway", "serve"], env=env, stdout=out, stderr=out
        )
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(100):
                try:
                    async with http.get(url + "/healthz") as r:
                        if r.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    pass
                await asyncio.sleep(0.1)
            else:
                raise AssertionError(f"gateway did not start; see {log}")
        yield url, lambda: proc.send_signal(signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


async def test_puk_lock_and_session_survive_kill_and_restart(
    settings: Settings, store: SqliteStore, tmp_path: Path
) -> None:
    """Lock PUK1 through 5 sessions, leave a session mid-way, kill -9, restart: all kept."""
    log = tmp_path / "gateway.log"
    async with aiohttp.ClientSession() as http:
        async with running_gateway(settings.database, log) as (url, kill):
            for wrong in WRONG_PUKS[:5]:
                phone = Handset(http, url=url, msisdn=CLOSED_SELF.msisdn, dialect="native",
                                secret=SECRETS["native"])
                await phone.dial("*141*3*6#")
                await phone.send("2")
                last = await phone.send(wrong)
            assert last.ends and "заблокировано" in last.text
            pending = Handset(http, url=url, msisdn=CLOSED_SELF.msisdn, dialect="native",
                              secret=SECRETS["native"])
            await pending.dial("*141*3*6#")
            kill()
        async with running_gateway(settings.database, log) as (url, _):
            pending._url = url  # noqa: SLF001 - the same session, now served by the new process
            # The session's position survived: its menu is still waiting for a choice.
            refused = await pending.send("2")
            assert refused.ends and "контакт-центр 150" in refused.text
            # And a fresh session with the right PUK1 is still refused: the lock is durable.
            phone = Handset(http, url=url, msisdn=CLOSED_SELF.msisdn, dialect="native",
                            secret=SECRETS["native"])
            await phone.dial("*141*3*6#")
            assert (await phone.send("2")).text == refused.text
    sub = await store.get_subscriber(CLOSED_SELF.msisdn)
    assert sub.puk_locked and sub.puk_failures == 5
    assert [m.kind for m in await store.outbox(CLOSED_SELF.msisdn)] == ["puk_locked_alert"]
    gateway_log = log.read_text(encoding="utf-8")
    assert "ussd_hop" in gateway_log
    for secret in (*WRONG_PUKS[:5], CLOSED_SELF.puk):
        assert secret not in gateway_log
