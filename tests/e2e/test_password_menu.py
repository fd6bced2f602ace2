"""*141*0#: setting the account password over real HTTP, in every dialect."""

from __future__ import annotations

from argon2 import PasswordHasher
from support import (
    CLOSED_OPERATOR,
    CLOSED_ORG,
    CLOSED_SELF,
    OPEN_EN,
    OPEN_RU,
    PASSWORDS,
    HandsetFactory,
    assert_not_stored,
)

from state.sqlite import SqliteStore

ASK = "Введите новый пароль (от 8 символов):"
REPEAT = "Повторите новый пароль:"
DONE = "Пароль Личного кабинета установлен. Вход: номер телефона и новый пароль."


async def test_password_is_set_after_confirmation(
    handset: HandsetFactory, store: SqliteStore
) -> None:
    """New password, the same again, END; the stored hash is argon2id of that password."""
    phone = handset(OPEN_RU.msisdn)
    assert (await phone.dial("*141*0#")).text == ASK
    assert (await phone.send(PASSWORDS[0])).text == REPEAT
    assert (await store.get_subscriber(OPEN_RU.msisdn)).password_hash is None
    done = await phone.send(PASSWORDS[0])
    assert done.ends and done.text == DONE
    sub = await store.get_subscriber(OPEN_RU.msisdn)
    assert sub.password_hash is not None and sub.password_hash.startswith("$argon2id$")
    assert PasswordHasher().verify(sub.password_hash, PASSWORDS[0])
    assert (await store.audit_log(msisdn=OPEN_RU.msisdn))[0].action == "password_set"


async def test_unicode_password_of_64_characters(
    handset: HandsetFactory, store: SqliteStore
) -> None:
    """Any Unicode is allowed and 64 characters are kept whole."""
    password = (PASSWORDS[1] * 5)[:64]
    phone = handset(OPEN_RU.msisdn)
    await phone.dial("*141*0#")
    await phone.send(password)
    assert (await phone.send(password)).text == DONE
    sub = await store.get_subscriber(OPEN_RU.msisdn)
    assert PasswordHasher().verify(sub.password_hash, password)


async def test_policy_violations_are_explained_and_asked_again(handset: HandsetFactory) -> None:
    """Too short, common, the number itself, repeated and sequential digits are refused."""
    cases = {
        "short1": "Пароль короче 8 символов.",
        "password123": "Слишком простой пароль.",
        "pw" + OPEN_RU.msisdn[-7:]: "Пароль не должен содержать номер телефона.",
        "ssssssss": "Пароль из одинаковых символов недопустим.",
        "34567890": "Пароль из цифр подряд недопустим.",
    }
    for candidate, explanation in cases.items():
        phone = handset(OPEN_RU.msisdn)
        await phone.dial("*141*0#")
        screen = await phone.send(candidate)
        assert screen.text == f"{explanation}\n{ASK}", candidate
        assert not screen.ends
        await phone.abort()


async def test_mismatch_starts_over(handset: HandsetFactory, store: SqliteStore) -> None:
    """A different confirmation is explained and both entries are asked again."""
    phone = handset(OPEN_RU.msisdn)
    await phone.dial("*141*0#")
    await phone.send(PASSWORDS[0])
    screen = await phone.send(PASSWORDS[2])
    assert screen.text == f"Пароли не совпадают. Введите заново.\n{ASK}"
    await phone.send(PASSWORDS[2])
    assert (await phone.send(PASSWORDS[2])).text == DONE
    sub = await store.get_subscriber(OPEN_RU.msisdn)
    assert PasswordHasher().verify(sub.password_hash, PASSWORDS[2])


async def test_three_failures_end_the_session(handset: HandsetFactory, store: SqliteStore) -> None:
    """After 3 violations or mismatches the session ends with nothing set."""
    phone = handset(OPEN_RU.msisdn)
    await phone.dial("*141*0#")
    await phone.send("short")
    await phone.send(PASSWORDS[0])
    await phone.send(PASSWORDS[3])  # mismatch: the second failure
    final = await phone.send("12345678")  # common: the third
    assert final.ends and final.text.startswith("Пароль не установлен")
    assert (await store.get_subscriber(OPEN_RU.msisdn)).password_hash is None


async def test_closed_access_says_how_to_reopen(handset: HandsetFactory) -> None:
    """With access closed, *141*0# ends with how to reopen, by closure source."""
    own = await handset(CLOSED_SELF.msisdn).dial("*141*0#")
    assert own.ends and "*141*3*6#" in own.text and "PUK1" in own.text
    org = await handset(CLOSED_ORG.msisdn).dial("*141*0#")
    assert org.ends and "администратору" in org.text
    operator = await handset(CLOSED_OPERATOR.msisdn).dial("*141*0#")
    assert operator.ends and "150" in operator.text


async def test_password_in_dial_string_is_refused(
    handset: HandsetFactory, store: SqliteStore
) -> None:
    """*141*0*<password># is refused: a password must never sit in call logs."""
    screen = await handset(OPEN_RU.msisdn).dial("*141*0*" + "24681357" + "#")
    assert screen.ends and "*141*0#" in screen.text and "пароль" in screen.text
    assert (await store.get_subscriber(OPEN_RU.msisdn)).password_hash is None


async def test_english_prompts(handset: HandsetFactory) -> None:
    """English subscribers get English prompts."""
    phone = handset(OPEN_EN.msisdn)
    assert (await phone.dial("*141*0#")).text == "Enter a new password (8 characters or more):"


async def test_no_plain_password_anywhere_in_the_database(
    handset: HandsetFactory, store: SqliteStore
) -> None:
    """Between the two entries and after, the database files never hold the password."""
    phone = handset(OPEN_RU.msisdn)
    await phone.dial("*141*0#")
    await phone.send(PASSWORDS[3])
    assert_not_stored(store.path, PASSWORDS[3])
    await phone.send(PASSWORDS[3])
    assert_not_stored(store.path, PASSWORDS[3])
