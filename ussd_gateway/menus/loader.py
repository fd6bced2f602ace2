"""Turn menu files into running parts: a python-statemachine class plus screens and texts.

Start-up runs the checker first, so a broken menu stops the gateway with ``file:line``
problems instead of failing a subscriber's hop later; what the checker parsed and built is
what runs (each file read once, each machine class built once). The machine itself is built
by the library's own reader and builder (``statemachine.io``) from the file's ``machine``
section (``machine.py``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from statemachine import StateChart

from sms.encoding import Encoding, ussd_limit
from ussd_gateway.errors import MenuDefinitionError
from ussd_gateway.menus.authored import model_class
from ussd_gateway.menus.calls import CallSpec, OnFailure
from ussd_gateway.menus.check import CheckedService, check_menus
from ussd_gateway.menus.expressions import Guard, compile_guard
from ussd_gateway.menus.messages import PLACEHOLDER
from ussd_gateway.menus.model import MenuModel
from ussd_gateway.menus.paginate import Navigation

Texts = Mapping[str, str]
"""One text in every language, keyed by language code."""

DEFAULT_LANGUAGE = "ru"

LOCK_ALERT = "puk_lock_alert"
"""The message a menu sends by SMS when opening with PUK1 locks (the access menu's)."""


@dataclass(frozen=True, slots=True)
class Option:
    """A numbered choice on a screen and the machine event it sends."""

    key: str
    event: str
    label: Texts
    sets: Mapping[str, Any] = field(default_factory=dict)
    """Values the option saves before its event is sent (its ``set``)."""


@dataclass(frozen=True, slots=True)
class InputSpec:
    """Free input a screen takes, and how it is checked before the machine sees it."""

    event: str
    secret: bool
    pattern: re.Pattern[str] | None
    max_length: int | None
    invalid: str | None
    save_as: str | None = None
    """The name the accepted input is saved under (never for a secret one)."""


@dataclass(frozen=True, slots=True)
class Screen:
    """What a state shows."""

    text: Texts
    options: tuple[Option, ...] = ()
    input: InputSpec | None = None
    shows_values: bool = False
    """Whether its text has ``{name}`` placeholders (else it is shown as written, unfilled)."""

    def option(self, key: str) -> Option | None:
        """The option chosen by ``key``, if any."""
        return next((o for o in self.options if o.key == key), None)


@dataclass(frozen=True, slots=True)
class Menu:
    """One USSD service: its code, its machine class, its screens and its messages."""

    name: str
    code: str
    machine: type[StateChart[Any]]
    screens: Mapping[str, Screen]
    messages: Mapping[str, Texts]
    final_states: frozenset[str]
    limits: Mapping[Encoding, int] = field(default_factory=dict)
    """Per-encoding screen limits lowered by ``service.limit`` (else 3GPP's 182/80)."""
    document: Mapping[str, Any] = field(default_factory=dict, repr=False)
    """The ``machine`` document ``machine`` was built from."""
    model: type[MenuModel] = MenuModel
    """The model class its machine runs on (its own guards and calls: ``model_class``)."""
    calls: Mapping[str, CallSpec] = field(default_factory=dict)
    guards: Mapping[str, Guard] = field(default_factory=dict)

    def limit(self, encoding: Encoding) -> int:
        """Units of ``encoding`` one screen of this service may use."""
        return self.limits.get(encoding, ussd_limit(encoding))

    def has_state(self, state: str) -> bool:
        """Whether ``state`` is a state of this machine (a persisted one may be stale)."""
        return state in self.machine.states_map

    def ends_at(self, state: str) -> bool:
        """Whether the session ends at ``state``'s screen: a final state, nothing is left
        to choose. Every "does this screen end the session" asks here (a long screen ends
        with its last page: ``hop/paging.py``)."""
        return state in self.final_states


@dataclass(frozen=True)
class MenuCatalog:
    """Every loaded service, the engine-wide messages, and dial-string resolution."""

    menus: Mapping[str, Menu]
    """By service name."""
    common: Mapping[str, Texts]
    _lock_alert: Texts = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Found once: the engine asks on every hop (HopServices.lock_alert).
        found = (menu.messages.get(LOCK_ALERT) for menu in self.menus.values())
        object.__setattr__(self, "_lock_alert", next((texts for texts in found if texts), {}))

    def resolve(self, dialled: str) -> tuple[Menu, list[str]] | None:
        """The service a dialled string names and the parameters after its code.

        ``*141*3*6*1#`` is service ``*141*3*6#`` with parameters ``["1"]``; the longest
        service code that is a prefix wins.
        """
        parts = _code_parts(dialled)
        if parts is None:
            return None
        best: tuple[Menu, list[str]] | None = None
        for menu in self.menus.values():
            code = _code_parts(menu.code) or []
            if parts[: len(code)] == code and (best is None or len(code) > _len(best[0])):
                best = (menu, parts[len(code) :])
        return best

    def has_message(self, menu: Menu | None, key: str) -> bool:
        """Whether ``key`` is a message of ``menu`` or an engine-wide one."""
        return key in self.common or (menu is not None and key in menu.messages)

    def message(self, menu: Menu | None, key: str, lang: str) -> str:
        """A message in ``lang``: the menu's own first, then the engine-wide one."""
        texts = (menu.messages.get(key) if menu else None) or self.common[key]
        return texts.get(lang) or texts[DEFAULT_LANGUAGE]

    def lock_alert(self, lang: str) -> str:
        """The SMS sent when opening with PUK1 locks, in ``lang``, else in the default
        language, else in any; ``""`` when no menu has one. One text for the whole
        catalogue (the first menu's that has it): ``*141#`` and the web's registration by
        PUK1 count towards the same lock."""
        texts = self._lock_alert
        if not texts:
            return ""
        return texts.get(lang) or texts.get(DEFAULT_LANGUAGE) or next(iter(texts.values()))

    def navigation(self, lang: str) -> Navigation:
        """The localised pagination labels."""
        return Navigation(
            self.message(None, "nav_more", lang), self.message(None, "nav_back", lang)
        )


def _len(menu: Menu) -> int:
    return len(_code_parts(menu.code) or [])


def _code_parts(code: str) -> list[str] | None:
    code = code.strip()
    if not (code.startswith("*") and code.endswith("#")) or len(code) < 3:
        return None
    return code[1:-1].split("*")


def compose_dialled(service_code: str, params: str) -> str:
    """A dialled string from a service code and parameters (``*141#`` + ``3*6`` → ``*141*3*6#``)."""
    if not params:
        return service_code
    if service_code.endswith("#"):
        return f"{service_code[:-1]}*{params}#"
    return f"*{service_code}*{params}#"


def load_catalog(
    paths: Sequence[Path] | None = None, *, backends: frozenset[str] = frozenset()
) -> MenuCatalog:
    """Check and load menu files (the shipped ones by default).

    ``paths`` are files and directories, combined with the shipped shared texts as
    ``check/files.py`` says (the README's "Writing a menu"). Each file is parsed once and
    each machine built once: by the checker, whose parsed sources and classes this uses.
    ``backends``: the configured back-ends' names (a call naming another is a problem).

    Raises:
        MenuDefinitionError: listing every ``file:line: problem`` found.
    """
    checked = check_menus(list(paths or ()), backends=backends)
    if checked.problems:
        raise MenuDefinitionError([str(p) for p in checked.problems])
    menus: dict[str, Menu] = {}
    for service in checked.services:
        menus[service.name] = _build(service)
    shared = checked.shared.data if checked.shared is not None else {}
    return MenuCatalog(menus, _texts_map(shared.get("messages") or {}))


def _texts_map(raw: Mapping[str, Any]) -> dict[str, Texts]:
    return {str(k): {str(lang): str(t) for lang, t in v.items()} for k, v in raw.items()}


def _build(service: CheckedService) -> Menu:
    data = service.source.data
    cls = service.machine
    if cls is None:  # pragma: no cover - a file without its machine has problems
        raise MenuDefinitionError([f"{service.source.file}:1: the machine was not built"])
    screens = {str(state): _screen(raw) for state, raw in (data.get("screens") or {}).items()}
    finals = frozenset(s.id for s in cls.final_states)
    raw_limits = data["service"].get("limit") or {}
    limits = {Encoding(k): int(v) for k, v in raw_limits.items()}
    guards = {str(k): compile_guard(str(v)) for k, v in (data.get("guards") or {}).items()}
    calls = {str(k): _call(str(k), v) for k, v in (data.get("calls") or {}).items()}
    return Menu(
        name=service.name,
        code=str(data["service"]["code"]),
        machine=cls,
        screens=screens,
        messages=_texts_map(data.get("messages") or {}),
        final_states=finals,
        limits=limits,
        document=data["machine"],
        model=model_class(service.name, guards, calls),
        calls=calls,
        guards=guards,
    )


def _call(name: str, raw: Mapping[str, Any]) -> CallSpec:
    body = raw.get("body")
    return CallSpec(
        name=name,
        backend=str(raw["backend"]),
        method=str(raw.get("method", "GET")).upper(),
        path=str(raw["path"]),
        body=dict(body) if isinstance(body, Mapping) else None,
        save={str(k): str(v) for k, v in (raw.get("save") or {}).items()},
        on_failure=OnFailure(str(raw.get("on_failure", OnFailure.END))),
    )


def _screen(raw: Mapping[str, Any]) -> Screen:
    options = tuple(
        Option(
            str(o["key"]),
            str(o["event"]),
            {str(k): str(v) for k, v in o["label"].items()},
            {str(k): v for k, v in (o.get("set") or {}).items()},
        )
        for o in raw.get("options") or ()
    )
    spec = raw.get("input")
    input_spec = None
    if spec:
        pattern = spec.get("pattern")
        input_spec = InputSpec(
            event=str(spec["event"]),
            secret=str(spec.get("secret", False)).lower() in ("true", "yes", "on", "1"),
            pattern=re.compile(pattern) if pattern else None,
            max_length=int(spec["max_length"]) if spec.get("max_length") else None,
            invalid=str(spec["invalid"]) if spec.get("invalid") else None,
            save_as=str(spec["save_as"]) if spec.get("save_as") else None,
        )
    text = {str(k): str(v) for k, v in (raw.get("text") or {}).items()}
    shows_values = any(PLACEHOLDER.search(t) for t in text.values())
    return Screen(text, options, input_spec, shows_values)
