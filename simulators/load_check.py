"""What the menus must say at each step of the load tool's dialogues, and the check itself.

Every reply the load tool gets is held to one of these: a regular expression on the screen
(as ``simulators/scripts/*.yaml`` do with ``expect``), whether the session must end, and the
USSD air limit. A reply that fails any of them is a wrong reply: the tool counts it as an
error, whatever its latency. Texts are the Russian ones (benchmark subscribers are ``ru``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from simulators.dialects import Reply, Screen


class WrongReply(Exception):
    """A reply that is not what the menu must say here."""

    def __init__(self, step: str, problem: str, text: str) -> None:
        super().__init__(f"{step}: {problem}; got {text[:120]!r}")
        self.step = step
        self.problem = problem
        self.text = text


@dataclass(frozen=True, slots=True)
class Expect:
    """One step's expected screen."""

    step: str
    pattern: re.Pattern[str]
    ends: bool

    def check(self, screen: Screen, reply: Reply | None = None) -> None:
        """Raise WrongReply unless ``screen`` is this step's screen."""
        if not self.pattern.search(screen.text):
            raise WrongReply(self.step, f"text not matching /{self.pattern.pattern}/", screen.text)
        if screen.ends != self.ends:
            raise WrongReply(
                self.step, "END expected" if self.ends else "CON expected", screen.text
            )
        if not screen.fits:
            raise WrongReply(self.step, f"over the USSD limit ({screen.label()})", screen.text)
        why = reply.disagreement() if reply is not None else None
        if why:
            raise WrongReply(self.step, why, screen.text)


def _expect(step: str, regex: str, *, ends: bool) -> Expect:
    return Expect(step, re.compile(regex, re.DOTALL), ends)


OPEN_MENU = _expect(
    "access menu (open)",
    r"^Доступ в Личный кабинет открыт\.\n1\. Закрыть\n2\. Открыть$",
    ends=False,
)
CLOSED_MENU = _expect(
    "access menu (closed)",
    r"^Доступ в Личный кабинет закрыт\.\n1\. Закрыть\n2\. Открыть по PUK1$",
    ends=False,
)
CONFIRM_CLOSE = _expect(
    "confirm close", r"^Закрыть доступ в Личный кабинет\?\n1\. Да, закрыть\n2\. Нет$", ends=False
)
CLOSED_NOW = _expect(
    "closed", r"^Доступ в Личный кабинет закрыт\. Открыть: \*141\*3\*6# и PUK1\.$", ends=True
)
ASK_PUK = _expect("PUK1 prompt", r"^Введите PUK1 вашей SIM-карты \(8 цифр\):$", ends=False)
WRONG_PUK_FIRST = _expect(
    "wrong PUK1",
    r"^Неверный PUK1\. Осталось попыток: 4\.\nВведите PUK1 вашей SIM-карты \(8 цифр\):$",
    ends=False,
)
WRONG_PUK_ANY = _expect(
    "wrong PUK1 (earlier failures unknown)",
    r"^Неверный PUK1\. Осталось попыток: [1-4]\.\nВведите PUK1 вашей SIM-карты \(8 цифр\):$",
    ends=False,
)
OPENED = _expect("opened", r"^Доступ в Личный кабинет открыт\.$", ends=True)
ASK_PASSWORD = _expect("password prompt", r"^Введите новый пароль \(от 8 символов\):$", ends=False)
REPEAT_PASSWORD = _expect("password repeat", r"^Повторите новый пароль:$", ends=False)
PASSWORD_SET = _expect(
    "password set",
    r"^Пароль Личного кабинета установлен\. Вход: номер телефона и новый пароль\.$",
    ends=True,
)

HELP_REPLY = re.compile(r"^Пароль: \*141\*0#\. Доступ: \*141\*3\*6#\. Код для входа")


def check_http(step: str, status: int, body: bytes, allowed: dict[int, re.Pattern[str]]) -> None:
    """Raise WrongReply unless ``status`` is allowed and its JSON body matches its pattern.

    The body is matched as compact JSON text (``{"status":"accepted"}``), so a pattern can
    pin both the keys and the values.
    """
    text = body.decode("utf-8", errors="replace")
    pattern = allowed.get(status)
    if pattern is None:
        raise WrongReply(step, f"HTTP {status} (expected {sorted(allowed)})", text)
    try:
        compact = json.dumps(json.loads(text), ensure_ascii=False, separators=(",", ":"))
    except ValueError:
        raise WrongReply(step, "body is not JSON", text) from None
    if not pattern.search(compact):
        raise WrongReply(step, f"body not matching /{pattern.pattern}/", compact)
