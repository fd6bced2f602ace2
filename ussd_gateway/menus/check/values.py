"""Session values, guards and back-end calls: what a file sets, reads and sends.

Every name a file reads — a ``{name}`` in a screen's text, a call's path or body, a name
in a guard — must be one it sets (an input's ``save_as``, an option's ``set``, a call's
``save``) or a built-in (``values.BUILTINS``); a name read and never set would show as
nothing or make a guard always false. A guard must compile in the guard language
(``expressions.py``); a call must name a configured back-end, one of ``calls.METHODS``
and a relative path (no scheme, no host, no ``..``: only the back-end's own base URL is
ever reached); a secret input is never saved.

:func:`collect_names` runs before the machine and screens are checked (they ask which
guard and action names the file adds, and which values a text may show);
:func:`check_values` then checks the two sections themselves.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from statemachine import StateChart

from ..callbacks import ACTIONS, GUARDS
from ..calls import FIELD_PATH, METHODS, OnFailure
from ..expressions import ExpressionError, compile_guard
from ..messages import PLACEHOLDER
from ..model import MenuModel
from ..source import PathKey
from ..values import BUILTINS, KEY
from .context import Context
from .structure import check_keys

_CALL_KEYS = frozenset({"backend", "method", "path", "body", "save", "on_failure"})
NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
"""A value, guard or call name: lower case, as the other names of a menu file."""
_MODEL_STATE = frozenset({"state", "subscriber", "data", "services", "changes", "notice"})
_TAKEN = frozenset(dir(MenuModel)) | frozenset(dir(StateChart)) | _MODEL_STATE
"""Names a guard or call may not take: the machine resolves a callback name on itself and
on the model, so ``send``, ``data`` or ``reset`` would replace what the engine relies on."""
_RESERVED = BUILTINS | GUARDS | ACTIONS | {KEY}


def collect_names(ctx: Context, data: Mapping[Any, Any]) -> None:
    """Record the names the file sets and the guards and calls it adds (``ctx.values``,
    ``ctx.own_guards``, ``ctx.own_calls``), before anything reads them."""
    values: dict[str, PathKey] = {}
    calls = data.get("calls")
    if isinstance(calls, Mapping):
        for name, spec in calls.items():
            ctx.own_calls.add(str(name))
            save = spec.get("save") if isinstance(spec, Mapping) else None
            if isinstance(save, Mapping):
                for key in save:
                    values.setdefault(str(key), ("calls", name, "save", key))
    guards = data.get("guards")
    if isinstance(guards, Mapping):
        ctx.own_guards.update(str(name) for name in guards)
    screens = data.get("screens")
    for sid, screen in screens.items() if isinstance(screens, Mapping) else ():
        if not isinstance(screen, Mapping):
            continue
        spec = screen.get("input")
        if isinstance(spec, Mapping) and isinstance(spec.get("save_as"), str):
            values.setdefault(spec["save_as"], ("screens", sid, "input", "save_as"))
        options = screen.get("options")
        for index, option in enumerate(options) if isinstance(options, list) else ():
            sets = option.get("set") if isinstance(option, Mapping) else None
            if isinstance(sets, Mapping):
                for key in sets:
                    values.setdefault(str(key), ("screens", sid, "options", index, "set", key))
    for name, where in values.items():
        if not NAME.fullmatch(name):
            ctx.add(where, f"value name {name!r} must be lower case letters, digits and _")
        elif name in _RESERVED:
            ctx.add(where, f"value name {name!r} is reserved (a built-in value, guard or action)")
    ctx.values = frozenset(values) | BUILTINS


def check_values(ctx: Context, data: Mapping[Any, Any]) -> None:
    """The ``guards`` and ``calls`` sections."""
    _check_guards(ctx, data.get("guards"))
    _check_calls(ctx, data.get("calls"))


def check_reads(ctx: Context, where: PathKey, text: str, what: str) -> None:
    """Every ``{name}`` of ``text`` must be a value the file sets."""
    for name in dict.fromkeys(PLACEHOLDER.findall(text)):
        if name not in ctx.values:
            ctx.add(where, f"{what} shows {{{name}}}, which nothing in this file sets{_sets()}")


def _sets() -> str:
    return " (an input's save_as, an option's set, a call's save)"


def _check_guards(ctx: Context, guards: Any) -> None:
    if guards is None:
        return
    if not isinstance(guards, Mapping):
        ctx.add(("guards",), "guards must map guard names to expressions")
        return
    for name, source in guards.items():
        where: PathKey = ("guards", name)
        if not isinstance(name, str) or not NAME.fullmatch(name):
            ctx.add(where, f"guard name {name!r} must be lower case letters, digits and _")
            continue
        if name in GUARDS or name in ACTIONS or name in ctx.own_calls or name in BUILTINS:
            ctx.add(where, f"guard name {name!r} is already a built-in guard, action or call")
            continue
        if name in _TAKEN:
            ctx.add(where, f"guard name {name!r} is taken by the machine or its model")
            continue
        if not isinstance(source, str):
            ctx.add(where, f"guard {name!r} must be an expression in quotes")
            continue
        try:
            guard = compile_guard(source)
        except ExpressionError as exc:
            ctx.add(where, f"guard {name!r} does not compile (column {exc.column}): {exc}")
            continue
        for read in sorted(guard.names - ctx.values):
            ctx.add(
                where, f"guard {name!r} reads {read!r}, which nothing in this file sets{_sets()}"
            )


def _check_calls(ctx: Context, calls: Any) -> None:
    if calls is None:
        return
    if not isinstance(calls, Mapping):
        ctx.add(("calls",), "calls must map call names to back-end requests")
        return
    for name, spec in calls.items():
        where: PathKey = ("calls", name)
        if not isinstance(name, str) or not NAME.fullmatch(name):
            ctx.add(where, f"call name {name!r} must be lower case letters, digits and _")
            continue
        if name in GUARDS or name in ACTIONS or name in BUILTINS:
            ctx.add(where, f"call name {name!r} is already a built-in guard or action")
            continue
        if name in _TAKEN:
            ctx.add(where, f"call name {name!r} is taken by the machine or its model")
            continue
        if not isinstance(spec, Mapping):
            ctx.add(where, f"call {name!r} must be a mapping with backend, method and path")
            continue
        check_keys(ctx, where, spec, _CALL_KEYS, "call")
        _check_call(ctx, where, name, spec)


def _check_call(ctx: Context, where: PathKey, name: str, spec: Mapping[Any, Any]) -> None:
    backend = spec.get("backend")
    if not isinstance(backend, str):
        ctx.add(where, f"call {name!r} needs backend: the name of a configured back-end")
    elif backend not in ctx.backends:
        known = ", ".join(sorted(ctx.backends)) or "none is configured"
        ctx.add(
            (*where, "backend"),
            f"call {name!r} names back-end {backend!r}, which the configuration does not have "
            f"([backends.{backend}]; configured: {known})",
        )
    method = spec.get("method", "GET")
    if not isinstance(method, str) or method.upper() not in METHODS:
        ctx.add((*where, "method"), f"call {name!r} method must be one of {', '.join(METHODS)}")
    path = spec.get("path")
    if not isinstance(path, str) or not path.startswith("/") or path.startswith("//"):
        at = (*where, "path") if "path" in spec else where
        ctx.add(at, f"call {name!r} needs a path starting with one '/' (the back-end's)")
    elif "://" in path or ".." in path or "#" in path or "\\" in path:
        ctx.add((*where, "path"), f"call {name!r} path must stay on its back-end (no host, '..')")
    else:
        check_reads(ctx, (*where, "path"), path, f"call {name!r} path")
    body = spec.get("body")
    if body is not None:
        if not isinstance(body, Mapping):
            ctx.add((*where, "body"), f"call {name!r} body must be a mapping (a JSON object)")
        else:
            _check_body(ctx, (*where, "body"), name, body)
    save = spec.get("save")
    if save is not None and not isinstance(save, Mapping):
        ctx.add((*where, "save"), f"call {name!r} save must map value names to answer fields")
    elif isinstance(save, Mapping):
        for value, field in save.items():
            if not isinstance(field, str) or not FIELD_PATH.fullmatch(field):
                ctx.add(
                    (*where, "save", value),
                    f"call {name!r} saves {value!r} from {field!r}: a field like 'a' or 'a.b'",
                )
    on_failure = spec.get("on_failure")
    if on_failure is not None and on_failure not in tuple(OnFailure):
        ctx.add(
            (*where, "on_failure"),
            f"call {name!r} on_failure must be {' or '.join(OnFailure)}",
        )


def _check_body(ctx: Context, where: PathKey, name: str, body: Any) -> None:
    if isinstance(body, str):
        check_reads(ctx, where, body, f"call {name!r} body")
    elif isinstance(body, Mapping):
        for key, value in body.items():
            _check_body(ctx, (*where, key), name, value)
    elif isinstance(body, list):
        for index, value in enumerate(body):
            _check_body(ctx, (*where, index), name, value)
    elif body is not None and not isinstance(body, (bool, int, float)):
        ctx.add(where, f"call {name!r} body holds {body!r}: JSON values only")


def check_input_saving(ctx: Context, where: PathKey, spec: Mapping[Any, Any]) -> None:
    """``save_as`` is a name, and never beside ``secret: true``."""
    save_as = spec.get("save_as")
    if save_as is None:
        return
    if not isinstance(save_as, str):
        ctx.add((*where, "save_as"), "input.save_as must be a value name")
    elif spec.get("secret") is True:
        ctx.add(
            (*where, "save_as"),
            "a secret input is never saved: it would sit in the session's data in plain text",
        )


def check_option_sets(ctx: Context, where: PathKey, option: Mapping[Any, Any]) -> None:
    """An option's ``set`` maps value names to plain values."""
    sets = option.get("set")
    if sets is None:
        return
    if not isinstance(sets, Mapping):
        ctx.add((*where, "set"), "option set must map value names to values")
        return
    for key, value in sets.items():
        if value is not None and not isinstance(value, (str, int, float, bool)):
            ctx.add((*where, "set", key), f"option set {key!r}: a text, number, true/false or null")
