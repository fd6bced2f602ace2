"""PostgreSQL goes away and comes back: clear answers meanwhile, nothing acknowledged lost,
and the gateway recovers by itself.

A real gateway process on a throwaway cluster (``tests/pgcluster.py``) that the test stops
with a fast shutdown and starts again; the shared server on 5432 is never touched.
What each caller gets while the database is down:

- USSD dialects: HTTP 200 and an END "temporarily unavailable" in the subscriber's language
  (the USSD centre shows our text, not its own network error);
- ``/api/v1/…`` and ``/healthz``: 503 with ``Retry-After``; ``/readyz``: 503 naming the
  store, and never the database URL or its password;
- Kannel's MO get-url: 200 with the "temporarily unavailable" SMS text (never a 5xx: Kannel
  would send its own "Could not fetch content" instead); Jasmin: 503 (it delivers again).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest
from pgcluster import Cluster
from support import API_SECRET, CLOSED_SELF, MO_SECRET, OPEN_EN, OPEN_RU, PEPPER_HEX, SECRETS, seed

from simulators.handset import Handset
from simulators.process import gateway_process
from state.backends import DatabaseLocation, open_store
from state.credentials import Pepper

pytestmark = pytest.mark.slow

UNAVAILABLE_RU = "Сервис временно недоступен. Попробуйте позже."
UNAVAILABLE_EN = "The service is temporarily unavailable. Please try again later."
URL_PASSWORD = "pg-url-password-never-shown"


async def _ready(http: aiohttp.ClientSession, url: str) -> tuple[int, dict, str]:  # type: ignore[type-arg]
    async with http.get(f"{url}/readyz") as answer:
        text = await answer.text()
        return answer.status, await answer.json(), text


async def _until(check, seconds: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "gave up waiting"
        await asyncio.sleep(0.2)


async def test_an_outage_gets_clear_answers_and_the_gateway_recovers(tmp_path: Path) -> None:
    cluster = Cluster()
    await cluster.init()
    await cluster.start()
    try:
        dsn = await cluster.create_database("gateway")
        store = await open_store(DatabaseLocation.parse(dsn))
        try:
            await seed(store, Pepper.from_hex(PEPPER_HEX), (OPEN_RU, OPEN_EN, CLOSED_SELF))
        finally:
            await store.close()
        # Trust authentication ignores a password: the URL carries one to show it is kept out.
        env = {
            "USSD_GATEWAY_DATABASE": dsn.replace("root@", f"root:{URL_PASSWORD}@", 1),
            "USSD_GATEWAY_PUK_PEPPER": PEPPER_HEX,
            "USSD_GATEWAY_SECRET_NATIVE": SECRETS["native"],
            "USSD_GATEWAY_SECRET_HUBTEL": SECRETS["hubtel"],
            "USSD_GATEWAY_SECRET_AFRICASTALKING": SECRETS["africastalking"],
            "USSD_GATEWAY_API_SECRET": API_SECRET,
            "USSD_GATEWAY_SMS_MO_SECRET": MO_SECRET,
            "USSD_GATEWAY_OUTBOX_FILE": str(tmp_path / "outbox.jsonl"),
        }
        async with aiohttp.ClientSession() as http, gateway_process(
            env, log=tmp_path / "gateway.log"
        ) as gateway:

            def phone(sub, dialect: str = "native") -> Handset:  # type: ignore[no-untyped-def]
                return Handset(http, url=gateway.url, msisdn=sub.msisdn, dialect=dialect,
                               secret=SECRETS[dialect])

            # Before: a change acknowledged with END is committed.
            closing = phone(OPEN_RU)
            await closing.dial("*141*3*6#")
            await closing.send("1")
            assert (await closing.send("1")).ends
            english = phone(OPEN_EN, "hubtel")
            assert not (await english.dial("*141*3*6#")).ends
            mid_session = phone(CLOSED_SELF, "africastalking")
            assert not (await mid_session.dial("*141*3*6#")).ends
            status, ready, raw = await _ready(http, gateway.url)
            assert status == 200 and ready["checks"]["store"] == {"ok": True, "backend": "PostgresStore"}
            assert URL_PASSWORD not in raw and "postgresql://" not in raw

            await cluster.stop()

            # USSD: an END in the subscriber's language, in every dialect.
            ru = await phone(OPEN_RU).dial("*141*3*6#")
            assert (ru.ends, ru.text) == (True, UNAVAILABLE_RU)
            en = await english.send("1")
            assert (en.ends, en.text) == (True, UNAVAILABLE_EN)
            at = await mid_session.send("2")
            assert (at.ends, at.text) == (True, UNAVAILABLE_RU)
            # The APIs and health: 503 with Retry-After; readiness: 503 naming the store.
            async with http.get(f"{gateway.url}/healthz") as health:
                assert health.status == 503 and "Retry-After" in health.headers

            async def not_ready() -> bool:
                return (await _ready(http, gateway.url))[0] == 503

            await _until(not_ready)
            _, ready, raw = await _ready(http, gateway.url)
            assert ready["status"] == "not_ready" and not ready["checks"]["store"]["ok"]
            assert ready["checks"]["store"]["error"] in ("StoreUnavailable", "timeout")
            assert URL_PASSWORD not in raw and "postgresql://" not in raw
            async with http.post(
                f"{gateway.url}/api/v1/codes",
                json={"msisdn": OPEN_RU.msisdn, "purpose": "login"},
                headers={"Authorization": f"Bearer {API_SECRET}"},
            ) as codes:
                assert codes.status == 503
                assert (await codes.json())["error"] == "unavailable"
            # Kannel: never a 5xx; the reply SMS says to try later.
            async with http.get(
                f"{gateway.url}/sms/mo",
                params={"from": f"+{OPEN_RU.msisdn}", "to": "141", "text": "KOD",
                        "token": MO_SECRET},
            ) as kannel:
                assert kannel.status == 200
                assert await kannel.text() == UNAVAILABLE_RU
            # Jasmin: 503, so it delivers the MO again later.
            async with http.post(
                f"{gateway.url}/sms/mo?token={MO_SECRET}",
                data={"id": "jasmin-1", "from": OPEN_RU.msisdn, "to": "141", "content": "KOD",
                      "coding": "0", "origin-connector": "smppc"},
            ) as jasmin:
                assert jasmin.status == 503

            await cluster.start()

            # Recovery without a restart: health, then a whole dialogue.
            async def healthy() -> bool:
                async with http.get(f"{gateway.url}/healthz") as answer:
                    return answer.status == 200

            await _until(healthy)

            async def ready_again() -> bool:
                return (await _ready(http, gateway.url))[0] == 200

            await _until(ready_again)
            reopening = phone(OPEN_RU)
            first = await reopening.dial("*141*3*6#")
            assert "закрыт" in first.text and not first.ends  # the closure before the outage
            await reopening.send("2")
            assert (await reopening.send(OPEN_RU.puk)).ends
        assert URL_PASSWORD not in (tmp_path / "gateway.log").read_text(encoding="utf-8")
        store = await open_store(DatabaseLocation.parse(dsn))
        try:
            sub = await store.get_subscriber(OPEN_RU.msisdn)
            assert sub is not None and sub.access_open
            actions = [e.action for e in await store.audit_log(msisdn=OPEN_RU.msisdn)]
            assert actions[:2] == ["access_opened", "access_closed"]
            # Nothing of the outage's hops was written: the others' states are unchanged.
            assert (await store.get_subscriber(CLOSED_SELF.msisdn)).puk_failures == 0
        finally:
            await store.close()
    finally:
        cluster.cleanup()
