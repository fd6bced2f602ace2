"""*141*3*6#: every behaviour of issue #2, over real HTTP, in every dialect."""

from __future__ import annotations

from support import (
    CLOSED_OPERATOR,
    CLOSED_ORG,
    CLOSED_SELF,
    OPEN_EN,
    OPEN_RU,
    WRONG_PUKS,
    HandsetFactory,
    assert_not_stored,
)

from state.models import ClosedBy
from state.sqlite import SqliteStore

OPEN_MENU = "Доступ в Личный кабинет открыт.\n1. Закрыть\n2. Открыть"
CLOSED_MENU = "Доступ в Личный кабинет закрыт.\n1. Закрыть\n2. Открыть по PUK1"
ASK_PUK = "Введите PUK1 вашей SIM-карты (8 цифр):"


async def test_status_screen_shows_open_access(handset: HandsetFactory) -> None:
    """An open account shows its status and both choices."""
    screen = await handset(OPEN_RU.msisdn).dial("*141*3*6#")
    assert screen.text == OPEN_MENU and not screen.ends


async def test_close_needs_confirmation_and_is_recorded(
    handset: HandsetFactory, store: SqliteStore
) -> None:
    """1 asks for confirmation; confirming closes access with the subscriber as source."""
    phone = handset(OPEN_RU.msisdn)
    await phone.dial("*141*3*6#")
    confirm = await phone.send("1")
    assert confirm.text.startswith("Закрыть доступ в Личный кабинет?") and not confirm.ends
    assert (await store.get_subscriber(OPEN_RU.msisdn)).access_open  # nothing before "yes"
    done = await phone.send("1")
    assert done.ends and "Доступ в Личный кабинет закрыт" in done.text
    sub = await store.get_subscriber(OPEN_RU.msisdn)
    assert sub.closed_by is ClosedBy.SUBSCRIBER
    audit = await store.audit_log(msisdn=OPEN_RU.msisdn)
    assert (audit[0].action, audit[0].actor, str(audit[0].channel)) == (
        "access_closed", "subscriber", "ussd"
    )


async def test_cancel_keeps_access_open(handset: HandsetFactory, store: SqliteStore) -> None:
    """Declining the confirmation changes nothing."""
    phone = handset(OPEN_RU.msisdn)
    await phone.dial("*141*3*6#")
    await phone.send("1")
    assert (await phone.send("2")).text == "Доступ не изменён."
    sub = await store.get_subscriber(OPEN_RU.msisdn)
    assert sub.access_open and sub.version == 0


async def test_open_when_open_and_close_when_closed(handset: HandsetFactory) -> None:
    """Asking for the state the account is already in says so."""
    phone = handset(OPEN_RU.msisdn)
    await phone.dial("*141*3*6#")
    assert (await phone.send("2")).text == "Доступ в Личный кабинет уже открыт."
    phone = handset(CLOSED_SELF.msisdn)
    assert (await phone.dial("*141*3*6#")).text == CLOSED_MENU
    assert (await phone.send("1")).text == "Доступ в Личный кабинет уже закрыт."


async def test_reopen_with_right_puk(handset: HandsetFactory, store: SqliteStore) -> None:
    """2 asks for PUK1; the right one opens access."""
    phone = handset(CLOSED_SELF.msisdn)
    await phone.dial("*141*3*6#")
    assert (await phone.send("2")).text == ASK_PUK
    done = await phone.send(CLOSED_SELF.puk)
    assert done.ends and done.text == "Доступ в Личный кабинет открыт."
    sub = await store.get_subscriber(CLOSED_SELF.msisdn)
    assert sub.access_open and sub.puk_failures == 0


async def test_wrong_puk_counts_and_reasks(handset: HandsetFactory, store: SqliteStore) -> None:
    """A wrong PUK1 says how many attempts are left and asks again; the count is durable."""
    phone = handset(CLOSED_SELF.msisdn)
    await phone.dial("*141*3*6#")
    await phone.send("2")
    screen = await phone.send(WRONG_PUKS[0])
    assert screen.text == f"Неверный PUK1. Осталось попыток: 4.\n{ASK_PUK}" and not screen.ends
    assert (await store.get_subscriber(CLOSED_SELF.msisdn)).puk_failures == 1
    assert (await phone.send(CLOSED_SELF.puk)).text == "Доступ в Личный кабинет открыт."
    assert (await store.get_subscriber(CLOSED_SELF.msisdn)).puk_failures == 0


async def test_malformed_puk_is_explained_not_counted(
    handset: HandsetFactory, store: SqliteStore
) -> None:
    """Something that is not 8 digits is not a PUK1 attempt."""
    phone = handset(CLOSED_SELF.msisdn)
    await phone.dial("*141*3*6#")
    await phone.send("2")
    screen = await phone.send("12ab")
    assert screen.text == f"PUK1 состоит из 8 цифр.\n{ASK_PUK}"
    assert (await store.get_subscriber(CLOSED_SELF.msisdn)).puk_failures == 0


async def test_five_wrong_puks_across_sessions_lock_and_alert(
    handset: HandsetFactory, store: SqliteStore
) -> None:
    """Wrong PUK1s spread over sessions lock opening at the 5th and queue one alert SMS."""
    for wrong in WRONG_PUKS[:4]:
        phone = handset(CLOSED_SELF.msisdn)
        await phone.dial("*141*3*6#")
        await phone.send("2")
        await phone.send(wrong)
        await phone.abort()
    phone = handset(CLOSED_SELF.msisdn)
    await phone.dial("*141*3*6#")
    assert (await phone.send("2")).text == ASK_PUK
    locked = await phone.send(WRONG_PUKS[4])
    assert locked.ends and "Открытие доступа заблокировано" in locked.text
    sub = await store.get_subscriber(CLOSED_SELF.msisdn)
    assert sub.puk_locked and sub.puk_failures == 5
    outbox = await store.outbox(CLOSED_SELF.msisdn)
    assert [(m.kind, m.status) for m in outbox] == [("puk_locked_alert", "pending")]
    assert "5 неверных PUK1" in outbox[0].body
    # The right PUK1 no longer helps: the lock is checked before any comparison.
    phone = handset(CLOSED_SELF.msisdn)
    await phone.dial("*141*3*6#")
    refused = await phone.send("2")
    assert refused.ends and "контакт-центр 150" in refused.text
    assert (await store.get_subscriber(CLOSED_SELF.msisdn)).closed_by is ClosedBy.SUBSCRIBER


async def test_organisation_closure_points_to_administrator(handset: HandsetFactory) -> None:
    """A closure by the organisation cannot be lifted here; it names whom to contact."""
    screen = await handset(CLOSED_ORG.msisdn).dial("*141*3*6#")
    assert screen.ends and "администратору" in screen.text
    shortcut = await handset(CLOSED_ORG.msisdn).dial("*141*3*6*2#")
    assert shortcut.text == screen.text


async def test_operator_closure_points_to_contact_centre(handset: HandsetFactory) -> None:
    """A closure by the operator names the contact centre 150."""
    screen = await handset(CLOSED_OPERATOR.msisdn).dial("*141*3*6#")
    assert screen.ends and "контакт-центр 150" in screen.text


async def test_shortcuts_jump_to_the_step(handset: HandsetFactory) -> None:
    """*141*3*6*1# lands on the confirmation, *141*3*6*2# on the PUK1 prompt."""
    close = await handset(OPEN_RU.msisdn).dial("*141*3*6*1#")
    assert close.text.startswith("Закрыть доступ в Личный кабинет?") and not close.ends
    reopen = await handset(CLOSED_SELF.msisdn).dial("*141*3*6*2#")
    assert reopen.text == ASK_PUK


async def test_shortcut_never_answers_the_confirmation(
    handset: HandsetFactory, store: SqliteStore
) -> None:
    """A dial string can choose a step but not confirm it: *141*3*6*1*1# changes nothing."""
    screen = await handset(OPEN_RU.msisdn).dial("*141*3*6*1*1#")
    assert screen.ends and screen.text == "Услуга недоступна."
    assert (await store.get_subscriber(OPEN_RU.msisdn)).access_open


async def test_invalid_choice_is_explained(handset: HandsetFactory) -> None:
    """An unknown option says so and shows the same screen again."""
    phone = handset(OPEN_RU.msisdn)
    await phone.dial("*141*3*6#")
    assert (await phone.send("7")).text == f"Нет такого пункта.\n{OPEN_MENU}"


async def test_english_subscriber_gets_english(handset: HandsetFactory) -> None:
    """Texts follow the subscriber's language."""
    phone = handset(OPEN_EN.msisdn)
    screen = await phone.dial("*141*3*6#")
    assert screen.text == (
        "Access to your self-service account is open.\n1. Close\n2. Open"
    )


async def test_typed_puks_are_not_stored(handset: HandsetFactory, store: SqliteStore) -> None:
    """Neither a wrong nor the right PUK1 is kept in the database, in any form we can read."""
    phone = handset(CLOSED_SELF.msisdn)
    await phone.dial("*141*3*6#")
    await phone.send("2")
    await phone.send(WRONG_PUKS[5])
    await phone.send(CLOSED_SELF.puk)
    assert_not_stored(store.path, WRONG_PUKS[5], CLOSED_SELF.puk)


async def test_operator_unlock_lets_the_right_puk_open_again(
    handset: HandsetFactory, store: SqliteStore
) -> None:
    """After a lock, `puk unlock` (the operator) makes the right PUK1 work again."""
    from account.operator import AccountService
    from state.models import Channel

    for wrong in WRONG_PUKS[:5]:
        phone = handset(CLOSED_SELF.msisdn)
        await phone.dial("*141*3*6*2#")
        await phone.send(wrong)
    assert (await store.get_subscriber(CLOSED_SELF.msisdn)).puk_locked
    await AccountService(store).unlock_puk(CLOSED_SELF.msisdn, actor="op", channel=Channel.CLI)
    phone = handset(CLOSED_SELF.msisdn)
    assert (await phone.dial("*141*3*6*2#")).text == ASK_PUK
    assert (await phone.send(CLOSED_SELF.puk)).text == "Доступ в Личный кабинет открыт."


async def test_account_changed_while_on_the_puk_prompt(
    handset: HandsetFactory, store: SqliteStore
) -> None:
    """The PUK1 prompt answers for what happened meanwhile: opened, closed above, locked."""
    from account.operator import AccountService
    from state.models import Channel

    service = AccountService(store)
    # The operator opens access while the subscriber is typing.
    phone = handset(CLOSED_SELF.msisdn)
    await phone.dial("*141*3*6*2#")
    await service.open_access(CLOSED_SELF.msisdn, by=ClosedBy.OPERATOR, actor="op",
                              channel=Channel.CLI, reason=None)
    assert (await phone.send(CLOSED_SELF.puk)).text == "Доступ в Личный кабинет уже открыт."
    # The subscriber closes again; then the operator takes the closure over meanwhile.
    await service.close_access(CLOSED_SELF.msisdn, by=ClosedBy.SUBSCRIBER, actor="s",
                               channel=Channel.USSD, reason=None)
    phone = handset(CLOSED_SELF.msisdn)
    await phone.dial("*141*3*6*2#")
    await service.close_access(CLOSED_SELF.msisdn, by=ClosedBy.OPERATOR, actor="op",
                               channel=Channel.CLI, reason="lost SIM")
    answer = await phone.send(CLOSED_SELF.puk)
    assert answer.ends and "контакт-центр 150" in answer.text
    assert (await store.get_subscriber(CLOSED_SELF.msisdn)).puk_failures == 0


async def test_lock_by_another_session_is_not_blamed_on_this_puk(
    handset: HandsetFactory, store: SqliteStore
) -> None:
    """If another session locked opening meanwhile, the right PUK1 gets the lock screen, not
    "wrong PUK1": it was never compared."""
    waiting = handset(CLOSED_SELF.msisdn)
    await waiting.dial("*141*3*6*2#")
    for wrong in WRONG_PUKS[:5]:
        other = handset(CLOSED_SELF.msisdn)
        await other.dial("*141*3*6*2#")
        await other.send(wrong)
    answer = await waiting.send(CLOSED_SELF.puk)
    assert answer.ends and answer.text.startswith("Открытие заблокировано: 5 неверных PUK1.")
