"""The ``ussd-handset --script`` format and its step checks: one implementation for the
terminal runner (``handset.run_script``) and the web handset's replay (``web/replay.py``).

A script is a YAML mapping: ``msisdn``, ``dialect`` and ``steps``; a step is at most one
action (``dial``, ``send``, ``abort``) followed by checks of the latest screen (``expect``
a regular expression, ``expect_text`` an exact screen, ``ends``). Every screen received is
also checked against the USSD limit and against the length the gateway declared.
:func:`dump_script` writes the same format, for dialogues recorded by hand.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import yaml

from simulators.dialects import Dialect, Reply, Screen

ScriptSource = str | os.PathLike[str] | Mapping[str, Any]


class ScriptError(Exception):
    """The scenario itself is invalid: bad YAML, unknown key, wrong value type."""


class Mismatch(Exception):
    """A screen is not what the scenario expects; ``screen`` is the actual one."""

    def __init__(self, expected: str, screen: Screen) -> None:
        super().__init__(expected)
        self.expected = expected
        self.screen = screen


class ScriptedHandset(Protocol):
    """What a step needs of a handset (``handset.Handset`` is one)."""

    @property
    def screen(self) -> Screen | None: ...

    @property
    def reply(self) -> Reply | None: ...

    async def dial(self, code: str) -> Screen: ...

    async def send(self, text: str) -> Screen: ...

    async def abort(self) -> None: ...


_ACTIONS = ("dial", "send", "abort")
_CHECKS = ("expect", "expect_text", "ends")
_TOP_KEYS = {"msisdn", "dialect", "steps"}


class _TextLoader(yaml.SafeLoader):
    """SafeLoader that keeps numbers as text: ``send: 0123`` must send "0123", not 83."""


_TextLoader.yaml_implicit_resolvers = {
    first: [
        (tag, rx)
        for tag, rx in resolvers
        if tag not in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True, slots=True)
class Step:
    """One scenario step: at most one action, then checks on the latest screen."""

    number: int
    action: str | None = None
    arg: str = ""
    expect: re.Pattern[str] | None = None
    expect_text: str | None = None
    ends: bool | None = None

    def describe(self) -> str:
        parts = []
        if self.action == "abort":
            parts.append("abort")
        elif self.action:
            parts.append(f"{self.action} {self.arg}")
        if self.expect is not None:
            parts.append(f"expect /{self.expect.pattern}/")
        if self.expect_text is not None:
            parts.append(f"expect_text {self.expect_text!r}")
        if self.ends is not None:
            parts.append(f"ends {str(self.ends).lower()}")
        return "; ".join(parts)


@dataclass(frozen=True, slots=True)
class Script:
    msisdn: str | None
    dialect: str | None
    steps: tuple[Step, ...]


def load_script(source: ScriptSource) -> Script:
    """Read and validate a scenario fully before any request, so a typo costs no traffic."""
    if isinstance(source, Mapping):
        data: Any = source
    else:
        try:
            text = Path(source).read_text(encoding="utf-8")
        except OSError as exc:
            raise ScriptError(f"cannot read script: {exc}") from exc
        data = parse_yaml(text)
    if not isinstance(data, Mapping):
        raise ScriptError("script must be a mapping with a 'steps' list")
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise ScriptError(f"unknown top-level key(s): {', '.join(sorted(map(str, unknown)))}")
    steps = data.get("steps")
    if not isinstance(steps, list) or not steps:
        raise ScriptError("script needs a non-empty 'steps' list")
    msisdn, dialect = data.get("msisdn"), data.get("dialect")
    for key, value in (("msisdn", msisdn), ("dialect", dialect)):
        if value is not None and not isinstance(value, str):
            raise ScriptError(f"{key} must be a string, got {value!r}")
    if dialect is not None and dialect not in set(Dialect):
        raise ScriptError(f"unknown dialect {dialect!r} (choose {', '.join(Dialect)})")
    return Script(msisdn, dialect, tuple(_step(n, raw) for n, raw in enumerate(steps, 1)))


def _step(number: int, raw: Any) -> Step:
    where = f"step {number}"
    if not isinstance(raw, Mapping) or not raw:
        raise ScriptError(f'{where}: must be a mapping like {{send: "1"}}, got {raw!r}')
    unknown = set(raw) - set(_ACTIONS) - set(_CHECKS)
    if unknown:
        raise ScriptError(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
    actions = [key for key in _ACTIONS if key in raw]
    if len(actions) > 1:
        raise ScriptError(f"{where}: one action per step, got {', '.join(actions)}")

    def text(key: str) -> str:
        value = raw[key]
        if not isinstance(value, str):
            raise ScriptError(f"{where}: {key} must be a string (quote it), got {value!r}")
        return value

    action = actions[0] if actions else None
    arg = ""
    if action == "abort" and raw["abort"] is not True:
        raise ScriptError(f"{where}: abort must be true")
    if action in ("dial", "send"):
        arg = text(action)
        if action == "dial" and not arg.strip():
            raise ScriptError(f'{where}: dial needs a code such as "*141#"')
    expect = None
    if "expect" in raw:
        try:
            expect = re.compile(text("expect"), re.DOTALL)
        except re.error as exc:
            raise ScriptError(f"{where}: expect is not a valid regex: {exc}") from exc
    ends = raw.get("ends")
    if ends is not None and not isinstance(ends, bool):
        raise ScriptError(f"{where}: ends must be true or false, got {ends!r}")
    expect_text = text("expect_text") if "expect_text" in raw else None
    return Step(number, action, arg, expect, expect_text, ends)


def load_script_text(text: str) -> Script:
    """A scenario from YAML text (a file uploaded to the web handset)."""
    return load_script(parse_yaml(text))


def parse_yaml(text: str) -> Any:
    """YAML text as data, numbers kept as text; ScriptError with a hint when it is not YAML."""
    try:
        # _TextLoader is a SafeLoader subclass: no object construction.
        return yaml.load(text, Loader=_TextLoader)  # noqa: S506
    except yaml.YAMLError as exc:
        # A bare *141# is a YAML alias; the usual cause of a parse error here.
        hint = ' (quote USSD codes: dial: "*141#")' if "alias" in str(exc) else ""
        raise ScriptError(f"script is not valid YAML{hint}: {exc}") from exc


async def run_step(
    handset: ScriptedHandset, step: Step, received: Callable[[Screen], None]
) -> None:
    """Do ``step``'s action, then its checks; ``received`` sees each screen first.

    Raises :class:`Mismatch` when a check fails, :class:`ScriptError` when there is nothing
    to check; the handset's own errors (a send with no session, HTTP) pass through."""
    if step.action == "dial":
        _check_received(handset, await handset.dial(step.arg), received)
    elif step.action == "send":
        _check_received(handset, await handset.send(step.arg), received)
    elif step.action == "abort":
        await handset.abort()
    if step.expect is None and step.expect_text is None and step.ends is None:
        return
    screen = handset.screen
    if screen is None:
        raise ScriptError("nothing to check: no screen yet (or the session was aborted)")
    if step.expect is not None and not step.expect.search(screen.text):
        raise Mismatch(f"text matching /{step.expect.pattern}/", screen)
    if step.expect_text is not None and screen.text != step.expect_text:
        raise Mismatch(f"exactly {step.expect_text!r}", screen)
    if step.ends is not None and screen.ends != step.ends:
        raise Mismatch("session ends (END)" if step.ends else "session continues (CON)", screen)


def _check_received(
    handset: ScriptedHandset, screen: Screen, received: Callable[[Screen], None]
) -> None:
    """Checks every screen gets, whatever the script asserts: fits the air, honest length."""
    received(screen)
    if not screen.fits:
        raise Mismatch(f"a screen of at most {screen.limit} units in {screen.encoding}", screen)
    why = handset.reply.disagreement() if handset.reply else None
    if why:
        raise Mismatch(f"declared encoding/length to match the text; {why}", screen)


def dump_script(
    steps: list[dict[str, Any]], *, msisdn: str | None = None, dialect: str | None = None
) -> str:
    """A scenario as YAML text that :func:`load_script` reads back to the same steps.

    Every string value is double-quoted, so ``send: "0123"`` stays text, ``*141#`` is no
    alias and a screen's line breaks are ``\\n``."""
    document: dict[str, Any] = {}
    if msisdn is not None:
        document["msisdn"] = _Quoted(msisdn)
    if dialect is not None:
        document["dialect"] = _Quoted(dialect)
    document["steps"] = [
        {key: _Quoted(value) if isinstance(value, str) else value for key, value in step.items()}
        for step in steps
    ]
    text = yaml.dump(document, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100)
    load_script(parse_yaml(text))  # what is written must read back
    return text


class _Quoted(str):
    """A string value the dump double-quotes (keys stay plain)."""

    __slots__ = ()


class _Dumper(yaml.SafeDumper):
    """SafeDumper that knows :class:`_Quoted`."""


def _quoted(dumper: yaml.SafeDumper, value: _Quoted) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(value), style='"')


_Dumper.add_representer(_Quoted, _quoted)
