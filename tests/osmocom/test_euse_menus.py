"""*141*3*6# and *141*0# from a mobile core: a subscriber's session through a real OsmoHLR
(routed by its prefix to the gateway, the HLR's external USSD entity) and back, in Russian
(UCS-2) and English (GSM-7), with the same menus, rules and records as over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from hlr_harness import OsmoHlr, gateway_env, imsi_of, wait_euse_up, whole
from support import CLOSED_SELF, OPEN_EN, OPEN_RU, PASSWORDS, WRONG_PUKS

from simulators.gsup import GsupCore, ussr_result
from simulators.process import GatewayProcess, gateway_process
from state.sqlite import SqliteStore
from ussd_gateway.config import Settings

pytestmark = [pytest.mark.osmocom, pytest.mark.slow]

UCS2, GSM7 = 0x48, 0x0F


@pytest.fixture
async def gateway(
    hlr: OsmoHlr, settings: Settings, store: SqliteStore, tmp_path: Path
) -> AsyncIterator[GatewayProcess]:
    """The gateway process on the seeded file, its connector up on the module's HLR."""
    log = tmp_path / "gateway.log"
    async with gateway_process(gateway_env(hlr, settings.database, tmp_path), log=log) as gw:
        await wait_euse_up(gw.url)
        yield gw


async def test_close_and_reopen_with_puk1_in_russian(
    gateway: GatewayProcess, core: GsupCore, store: SqliteStore
) -> None:
    """Close (confirmed), then reopen with a wrong and the right PUK1: UCS-2 throughout,
    each screen within OsmoHLR's 56 UCS-2 characters, the changes and the audit stored."""
    phone = core.handset(imsi_of(OPEN_RU.msisdn))
    menu, schemes = await whole(phone, await phone.dial("*141*3*6#"))
    assert menu.text == "Доступ в Личный кабинет открыт.\n1. Закрыть\n2. Открыть"
    assert not menu.ends and schemes == [UCS2]
    confirm, _ = await whole(phone, await phone.send("1"))
    assert confirm.text.startswith("Закрыть доступ в Личный кабинет?")
    assert (await store.get_subscriber(OPEN_RU.msisdn)).access_open  # nothing before "yes"
    done, schemes = await whole(phone, await phone.send("1"))
    assert done.ends and "Доступ в Личный кабинет закрыт" in done.text
    assert set(schemes) == {UCS2}
    assert not (await store.get_subscriber(OPEN_RU.msisdn)).access_open

    await phone.dial("*141*3*6#")
    ask, _ = await whole(phone, await phone.send("2"))
    assert ask.text == "Введите PUK1 вашей SIM-карты (8 цифр):" and not ask.ends
    wrong, _ = await whole(phone, await phone.send(WRONG_PUKS[0]))
    assert wrong.text.startswith("Неверный PUK1. Осталось попыток: 4.") and not wrong.ends
    assert (await store.get_subscriber(OPEN_RU.msisdn)).puk_failures == 1
    opened, _ = await whole(phone, await phone.send(OPEN_RU.puk))
    assert opened.ends and opened.text == "Доступ в Личный кабинет открыт."
    sub = await store.get_subscriber(OPEN_RU.msisdn)
    assert sub.access_open and sub.puk_failures == 0
    actions = [entry.action for entry in await store.audit_log(msisdn=OPEN_RU.msisdn)]
    assert "access_closed" in actions and "access_opened" in actions


async def test_close_and_reopen_with_puk1_in_english(
    gateway: GatewayProcess, core: GsupCore, store: SqliteStore
) -> None:
    """The same in English: GSM-7 packed, one page each."""
    phone = core.handset(imsi_of(OPEN_EN.msisdn))
    menu, schemes = await whole(phone, await phone.dial("*141*3*6#"))
    assert menu.text == "Access to your self-service account is open.\n1. Close\n2. Open"
    assert schemes == [GSM7]
    await phone.send("1")
    done, schemes = await whole(phone, await phone.send("1"))
    assert done.ends and done.text.startswith("Access closed. To reopen, dial *141*3*6#")
    assert schemes == [GSM7]
    await phone.dial("*141*3*6#")
    ask, _ = await whole(phone, await phone.send("2"))
    assert ask.text == "Enter the PUK1 of your SIM card (8 digits):"
    opened, schemes = await whole(phone, await phone.send(OPEN_EN.puk))
    assert opened.text == "Access to your self-service account is open." and opened.ends
    assert schemes == [GSM7]
    assert (await store.get_subscriber(OPEN_EN.msisdn)).access_open


async def test_reopen_a_closed_account(
    gateway: GatewayProcess, core: GsupCore, store: SqliteStore
) -> None:
    """A subscriber who closed access reopens it with PUK1 through the core."""
    phone = core.handset(imsi_of(CLOSED_SELF.msisdn))
    menu, _ = await whole(phone, await phone.dial("*141*3*6#"))
    assert menu.text.startswith("Доступ в Личный кабинет закрыт.")
    await phone.send("2")
    opened, _ = await whole(phone, await phone.send(CLOSED_SELF.puk))
    assert opened.ends and opened.text == "Доступ в Личный кабинет открыт."
    assert (await store.get_subscriber(CLOSED_SELF.msisdn)).access_open


@pytest.mark.parametrize(
    ("subscriber", "password", "ask", "repeat", "done", "scheme"),
    [
        (OPEN_RU, PASSWORDS[1], "Введите новый пароль (от 8 символов):",
         "Повторите новый пароль:",
         "Пароль Личного кабинета установлен. Вход: номер телефона и новый пароль.", UCS2),
        (OPEN_EN, PASSWORDS[0], "Enter a new password (8 characters or more):",
         "Repeat the new password:",
         "Your self-service password is set. Sign in with your number and the new password.",
         GSM7),
    ],
    ids=["russian", "english"],
)  # fmt: skip
async def test_password_set_with_star_141_star_0(
    gateway: GatewayProcess,
    core: GsupCore,
    store: SqliteStore,
    subscriber: object,
    password: str,
    ask: str,
    repeat: str,
    done: str,
    scheme: int,
) -> None:
    """*141*0#: a new password (a Cyrillic one arrives UCS-2 from the handset) and its
    confirmation; the hash stored is argon2id of it; the final screen, over one page in
    Russian, is read to its end."""
    msisdn = subscriber.msisdn  # type: ignore[attr-defined]
    phone = core.handset(imsi_of(msisdn))
    first, _ = await whole(phone, await phone.dial("*141*0#"))
    assert first.text == ask
    second, _ = await whole(phone, await phone.send(password))
    assert second.text == repeat
    assert (await store.get_subscriber(msisdn)).password_hash is None
    final, schemes = await whole(phone, await phone.send(password))
    assert final.ends and final.text.replace("\n", " ") == done
    assert set(schemes) == {scheme}
    hash_ = (await store.get_subscriber(msisdn)).password_hash
    assert hash_ is not None and PasswordHasher().verify(hash_, password)


async def test_no_secret_nor_imsi_in_the_logs(
    gateway: GatewayProcess, core: GsupCore, hlr: OsmoHlr, tmp_path: Path
) -> None:
    """A PUK1 and a password typed through the core, and the IMSIs, reach no log line of
    the gateway."""
    phone = core.handset(imsi_of(OPEN_RU.msisdn))
    await phone.dial("*141*0#")
    await phone.send(PASSWORDS[3])
    await phone.send(PASSWORDS[3])
    closed = core.handset(imsi_of(CLOSED_SELF.msisdn))
    await closed.dial("*141*3*6#")
    await closed.send("2")
    await closed.send(CLOSED_SELF.puk)
    text = (tmp_path / "gateway.log").read_text(encoding="utf-8")
    assert '"dialect": "gsup"' in text and "ussd_hop" in text
    for secret in (PASSWORDS[3], CLOSED_SELF.puk):
        assert secret not in text
    for imsi in (imsi_of(OPEN_RU.msisdn), imsi_of(CLOSED_SELF.msisdn)):
        assert imsi not in text  # a subscriber's IMSI is no log line's business either


async def test_a_repeated_answer_is_applied_once(
    gateway: GatewayProcess, core: GsupCore, store: SqliteStore
) -> None:
    """The same answer to the same prompt (its invoke id) twice, as a core resending it:
    the second gets the same screen and counts nothing; an answer to an older prompt gets
    the current screen — the engine's duplicate rules, as on every dialect."""
    phone = core.handset(imsi_of(CLOSED_SELF.msisdn))
    await phone.dial("*141*3*6#")
    menu_prompt = phone.prompt
    ask = await phone.send("2")
    wrong = ussr_result(phone.prompt or 0, WRONG_PUKS[1])
    await phone.send_raw("Continue", wrong)
    first = await phone.receive()
    await phone.send_raw("Continue", wrong)
    second = await phone.receive()
    assert first.text == second.text and first.text.startswith("Неверный PUK1.")
    assert (await store.get_subscriber(CLOSED_SELF.msisdn)).puk_failures == 1
    await phone.send_raw("Continue", ussr_result(menu_prompt or 0, "1"))
    stale = await phone.receive()
    assert stale.text == first.text and not stale.ends  # where the session really is
    assert ask.text == "Введите PUK1 вашей SIM-карты (8 цифр):"


async def test_a_one_screen_refusal_too_long_for_osmo_hlr_is_cut_not_lost(
    gateway: GatewayProcess, core: GsupCore
) -> None:
    """A password in the dialled code is refused with a text of 72 UCS-2 characters, over
    OsmoHLR's 56: it arrives cut with an ellipsis, a clean END (the HLR refuses a longer one
    and the phone would wait for its guard timer)."""
    phone = core.handset(imsi_of(OPEN_RU.msisdn))
    refused = await phone.dial(f"*141*0*{PASSWORDS[0]}#")
    assert refused.ends and refused.error is None
    assert refused.text.startswith("Не набирайте пароль в запросе.") and refused.text.endswith("…")
