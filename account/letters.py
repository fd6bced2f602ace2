"""The letters the account sends: the temporary password letter (seed 002).

The letter necessarily carries the temporary password; it is built here, handed to the
mail port (``account/mail.py``) and never logged.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid

_TEXT = {
    "ru": (
        "Восстановление данных для доступа в Личный кабинет",
        "Вы отправили запрос на сброс пароля. Для входа в Личный кабинет используйте данные:\n"
        "Номер телефона: {msisdn}\n"
        "Временный пароль: {password}\n"
        "Временный пароль действует {hours} ч и только для одного входа. "
        "Измените его на новый при первом входе в систему.\n\n"
        "Перейти в Личный кабинет: {portal}\n",
    ),
    "en": (
        "Restoring access to your self-service account",
        "You asked to reset your password. To log in to your self-service account use:\n"
        "Phone number: {msisdn}\n"
        "Temporary password: {password}\n"
        "The temporary password is valid for {hours} h and for one login only. "
        "Change it to a new one when you first log in.\n\n"
        "Go to your account: {portal}\n",
    ),
}


def temporary_password_letter(
    *,
    to: str,
    sender: str,
    msisdn: str,
    password: str,
    lang: str,
    hours: int,
    portal: str,
) -> EmailMessage:
    """The letter of seed 002, in the subscriber's language."""
    subject, body = _TEXT.get(lang, _TEXT["ru"])
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="ussd-gateway")
    message.set_content(body.format(msisdn=msisdn, password=password, hours=hours, portal=portal))
    return message
