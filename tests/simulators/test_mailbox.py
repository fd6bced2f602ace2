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


async def test_keeps_letters_sent_over_smtp_and_lists_them_over_http() -> None:
    """A letter sent to the real SMTP listener is printed and listed by GET /letters."""
    import asyncio

    import aiohttp
    import aiosmtplib
    from aiohttp.test_utils import TestServer
    from aiosmtpd.smtp import SMTP

    from simulators.mailbox import KeepLetters

    mailbox = KeepLetters()
    listener = await asyncio.get_running_loop().create_server(
        lambda: SMTP(mailbox), "127.0.0.1", 0
    )
    port = listener.sockets[0].getsockname()[1]
    server = TestServer(mailbox.app(), host="127.0.0.1")
    await server.start_server()
    letter = EmailMessage()
    letter["From"], letter["To"], letter["Subject"] = "noreply@example.by", "it@example.by", "Пароль"
    letter.set_content("Временный пароль: AbCdEf123456\n")
    try:
        await aiosmtplib.send(letter, hostname="127.0.0.1", port=port)
        async with aiohttp.ClientSession() as http, http.get(server.make_url("/letters")) as r:
            (listed,) = (await r.json())["letters"]
    finally:
        await server.close()
        listener.close()
    assert (listed["n"], listed["to"], listed["subject"]) == (1, "it@example.by", "Пароль")
    assert listed["text"] == "Временный пароль: AbCdEf123456"
