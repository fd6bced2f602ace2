"""The SMTP relay's last-known state: a letter taken is counted and the relay is up; a relay
that refuses letters is counted, shown by ``ussd_smtp_up 0`` and by /readyz (503)."""

from __future__ import annotations

from typing import Any

from account_world import SOLE, Api, Mailbox
from metrics_support import readyz, scrape, until
from support import ACCOUNT_SECRETS

PASSWORD = ACCOUNT_SECRETS[0]


async def test_the_relay_is_up_after_a_letter_and_down_when_it_refuses(
    api: Api, mailbox: Mailbox
) -> None:
    """Delivered: counted, relay up, /readyz ok; then 451 for every letter: counted as
    failed, relay down since that attempt, /readyz 503 with the error's class only; the
    retry that gets through makes it ready again."""
    url = str(api.server.make_url("")).rstrip("/")
    await api.register(SOLE.msisdn, PASSWORD)
    assert (await api.post("/api/v1/password/forgot", {"msisdn": SOLE.msisdn})).status == 202
    await mailbox.wait(1)

    async def delivered() -> bool:
        page = await scrape(url)
        return page.value(
            "ussd_mail_attempts_total", kind="temporary_password", result="delivered"
        ) == 1

    await until(delivered)
    page = await scrape(url)
    assert page.value("ussd_smtp_up") == 1 and page.value("ussd_ready_check", check="smtp") == 1
    status, report, _ = await readyz(url)
    assert status == 200 and report["checks"]["smtp"]["state"] == "ok"

    async def refuse(server: Any, session: Any, envelope: Any) -> str:
        return "451 4.3.0 Mailbox temporarily unavailable"

    mailbox.handle_DATA = refuse  # type: ignore[method-assign]
    api.clock.advance(61)  # one letter a minute per number
    assert (await api.post("/api/v1/password/forgot", {"msisdn": SOLE.msisdn})).status == 202

    async def refused() -> bool:
        page = await scrape(url)
        return page.value(
            "ussd_mail_attempts_total", kind="temporary_password", result="failed"
        ) >= 1

    await until(refused)
    page = await scrape(url)
    assert page.value("ussd_smtp_up") == 0 and page.value("ussd_ready") == 0
    status, report, raw = await readyz(url)
    smtp = report["checks"]["smtp"]
    assert status == 503 and (smtp["ok"], smtp["state"]) == (False, "failing")
    assert smtp["detail"] == "SMTPDataError" and smtp["failures"] >= 1
    assert "sole@example.by" not in raw

    del mailbox.handle_DATA  # the relay takes letters again: the retry (after 1 s) gets through
    await mailbox.wait(2)

    async def recovered() -> bool:
        return (await readyz(url))[0] == 200

    await until(recovered)
