"""ussd-handset's ``--trace`` (raw requests and replies, secrets masked) and its line history
(a secret typed is not kept), against the real gateway in every dialect."""

from __future__ import annotations

import io
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from support import CLOSED_SELF, SECRETS, WRONG_PUKS

from simulators import handset as handset_module
from simulators.dialects import Screen
from simulators.handset import HIDDEN, Handset, asks_for_secret, forgetting, interactive


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Введите PUK1 вашей SIM-карты (8 цифр):", True),
        ("Неверный PUK1. Осталось попыток: 4.\nВведите PUK1 вашей SIM-карты (8 цифр):", True),
        ("Enter the PUK1 of your SIM card (8 digits):", True),
        ("Введите новый пароль (от 8 символов):", True),
        ("Повторите новый пароль:", True),
        ("Repeat the new password:", True),
        ("Доступ в Личный кабинет закрыт.\n1. Закрыть\n2. Открыть по PUK1", False),
        ("Доступ в Личный кабинет открыт.\n1. Закрыть\n2. Открыть", False),
        ("Закрыть доступ в Личный кабинет?\n1. Да, закрыть\n2. Нет", False),
    ],
)
def test_a_screen_asking_for_a_secret_is_recognised(text: str, secret: bool) -> None:
    assert asks_for_secret(Screen(text, ends=False)) is secret
    assert asks_for_secret(Screen(text, ends=True)) is False


async def _reopen(phone: Handset) -> None:
    """*141*3*6#, 2 (open with PUK1), a wrong PUK1, the right one."""
    await phone.dial("*141*3*6#")
    await phone.send("2")
    assert phone.asks_for_secret
    await phone.send(WRONG_PUKS[0])
    await phone.send(CLOSED_SELF.puk)
    assert phone.screen is not None and phone.screen.ends


async def test_the_trace_shows_requests_and_replies_without_secrets(
    gateway: TestServer, http: aiohttp.ClientSession, dialect: str
) -> None:
    """Every request and reply is printed; the PUK1s typed (also inside Africa's Talking's
    cumulative text) and the caller's secret are not, the menu choice is."""
    trace = io.StringIO()
    phone = Handset(http, url=str(gateway.make_url("")), msisdn=CLOSED_SELF.msisdn,
                    dialect=dialect, secret=SECRETS[dialect], trace=trace)  # fmt: skip
    await _reopen(phone)
    shown = trace.getvalue()
    assert shown.count("→ POST ") == 4 and shown.count("← 200 OK") == 4
    assert "*141*3*6#" in shown and "PUK1" in shown and f"Bearer {HIDDEN}" in shown
    assert shown.count(HIDDEN) >= 3
    for secret in (CLOSED_SELF.puk, WRONG_PUKS[0], SECRETS[dialect]):
        assert secret not in shown
    if dialect == "africastalking":
        assert f"text=2*{HIDDEN}*{HIDDEN}" in shown
    else:
        assert '"2"' in shown


async def test_no_trace_no_output(
    gateway: TestServer, http: aiohttp.ClientSession, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without ``trace`` the handset prints nothing, neither on stdout nor on stderr."""
    phone = Handset(http, url=str(gateway.make_url("")), msisdn=CLOSED_SELF.msisdn,
                    secret=SECRETS["native"])  # fmt: skip
    await _reopen(phone)
    assert capsys.readouterr() == ("", "")


async def test_a_secret_typed_is_dropped_from_the_line_history(
    gateway: TestServer, http: aiohttp.ClientSession
) -> None:
    """Interactive mode drops the lines typed at a secret prompt (the two PUK1s), keeps the
    others for the up arrow."""
    typed = iter(["*141*3*6#", "2", WRONG_PUKS[0], CLOSED_SELF.puk, None])

    class History:
        def __init__(self) -> None:
            self.lines: list[str] = []

        def get_current_history_length(self) -> int:
            return len(self.lines)

        def remove_history_item(self, index: int) -> None:
            del self.lines[index]

    history = History()

    def read_line(prompt: str) -> str | None:
        line = next(typed)
        if line:
            history.lines.append(line)  # what readline's input() does
        return line

    phone = Handset(http, url=str(gateway.make_url("")), msisdn=CLOSED_SELF.msisdn,
                    secret=SECRETS["native"])  # fmt: skip
    out = io.StringIO()
    assert await interactive(phone, read_line=read_line, out=out, forget=forgetting(history)) == 0
    assert history.lines == ["*141*3*6#", "2"]
    assert "Доступ в Личный кабинет открыт." in out.getvalue()


def test_line_history_only_for_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    class Stdin(io.StringIO):
        def __init__(self, tty: bool) -> None:
            super().__init__()
            self.tty = tty

        def isatty(self) -> bool:
            return self.tty

    monkeypatch.setattr("sys.stdin", Stdin(False))
    assert handset_module.line_history() is None and forgetting(None) is None
    monkeypatch.setattr("sys.stdin", Stdin(True))
    history: Any = handset_module.line_history()
    assert history is not None and hasattr(history, "remove_history_item")


def test_trace_is_an_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert handset_module.main(["--help"]) == 0
    assert "--trace" in capsys.readouterr().out
