"""The gateway with a real Kannel: KOD by SMS, codes for the front end through sendsms.

Kannel (bearerbox + smsbox with a fake SMSC) runs on loopback ports; the gateway runs as a
real process configured with the Kannel sender; ``fakesmsc`` plays the subscriber.
"""

from __future__ import annotations

import re
from pathlib import Path

import aiohttp
import pytest
from harness import FakeSmsc, KannelConfig, kannel_running, require_kannel
from support import API_SECRET, MO_SECRET, OPEN_EN, OPEN_RU, PEPPER_HEX

from simulators.process import gateway_process
from state.sqlite import SqliteStore
from ussd_gateway.config import Settings

pytestmark = [pytest.mark.kannel, pytest.mark.slow]
CODE = re.compile(r"\b(\d{6})\b")
SERVICE_NUMBER = "141"


async def _verify(http: aiohttp.ClientSession, url: str, msisdn: str, code: str) -> int:
    async with http.post(
        f"{url}/api/v1/codes/verify",
        json={"msisdn": msisdn, "purpose": "login", "code": code},
        headers={"Authorization": f"Bearer {API_SECRET}"},
    ) as r:
        return r.status


async def test_kod_by_sms_and_codes_through_sendsms(
    settings: Settings, store: SqliteStore, tmp_path: Path
) -> None:
    """KOD from a handset gets a code back that verifies once; an API code arrives by sendsms."""
    binaries = require_kannel()
    config = KannelConfig(mo_url="", directory=tmp_path / "kannel")
    env = {
        "USSD_GATEWAY_DATABASE": str(settings.database),
        "USSD_GATEWAY_PUK_PEPPER": PEPPER_HEX,
        "USSD_GATEWAY_SMS_SENDER": "kannel",
        "USSD_GATEWAY_SMS_SENDER_ID": SERVICE_NUMBER,
        "USSD_GATEWAY_KANNEL_SENDSMS_URL": config.sendsms_url,
        "USSD_GATEWAY_KANNEL_USERNAME": config.username,
        "USSD_GATEWAY_KANNEL_PASSWORD": config.password,
        "USSD_GATEWAY_SMS_MO_SECRET": MO_SECRET,
        "USSD_GATEWAY_API_SECRET": API_SECRET,
    }
    async with gateway_process(env, log=tmp_path / "gateway.log") as gateway:
        config.mo_url = f"{gateway.url}/sms/mo?token={MO_SECRET}"
        async with (
            kannel_running(config, binaries) as kannel,
            FakeSmsc(kannel) as phone,
            aiohttp.ClientSession() as http,
        ):
            # A subscriber texts KOD; Kannel fetches the get-url and sends the body back.
            await phone.send_mo("+" + OPEN_RU.msisdn, SERVICE_NUMBER, "KOD")
            reply = await phone.wait_for_mt(lambda m: m.receiver == "+" + OPEN_RU.msisdn)
            found = CODE.search(reply.text)
            assert found, reply.text
            assert "Код" in reply.text  # Cyrillic survived Kannel (X-Kannel-Coding: 2)
            assert await _verify(http, gateway.url, OPEN_RU.msisdn, found.group(1)) == 200
            assert await _verify(http, gateway.url, OPEN_RU.msisdn, found.group(1)) == 401

            # The front end asks for a code; the outbox worker sends it through sendsms.
            async with http.post(
                f"{gateway.url}/api/v1/codes",
                json={"msisdn": OPEN_EN.msisdn, "purpose": "login"},
                headers={"Authorization": f"Bearer {API_SECRET}"},
            ) as r:
                assert r.status == 202
            sent = await phone.wait_for_mt(
                lambda m: m.receiver.lstrip("+") == OPEN_EN.msisdn, timeout=20
            )
            found = CODE.search(sent.text)
            assert found, sent.text
            assert await _verify(http, gateway.url, OPEN_EN.msisdn, found.group(1)) == 200
    (row,) = await store.outbox(OPEN_EN.msisdn)
    assert row.status == "sent" and found.group(1) not in row.body
