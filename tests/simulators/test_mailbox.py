"""The development mailbox prints letters decoded (what `make run` shows a newcomer)."""

from __future__ import annotations

from email.message import EmailMessage

from simulators.mailbox import render


def test_render_decodes_a_cyrillic_letter() -> None:
    letter = EmailMessage()
    letter["From"] = "A1 <noreply@example.by>"
    letter["To"] = "it@example.by"
    letter["Subject"] = "Восстановление данных для доступа в Личный кабинет"
    letter.set_content("Временный пароль: AbCdEf123456\n")
    shown = render(_roundtrip(letter))  # as it arrives: encoded, then parsed
    assert "Subject: Восстановление данных для доступа в Личный кабинет" in shown
    assert "Временный пароль: AbCdEf123456" in shown and "to it@example.by" in shown


def _roundtrip(letter: EmailMessage) -> EmailMessage:
    from email import message_from_bytes
    from email.policy import default

    parsed = message_from_bytes(letter.as_bytes(), policy=default)
    assert isinstance(parsed, EmailMessage)
    return parsed
