"""Callback names in the machine: guards (``cond``/``unless``) and actions, by name.

A name must be one of ``callbacks.GUARDS`` or ``callbacks.ACTIONS`` (or a guard of the
file's ``guards`` section, an action of its ``calls``: ``values.py``), and a guard may join
names only with ``and``/``or``/``not``: ``machine.py`` attaches guards as the library's
name references instead of running its sandboxed evaluator, which is safe only because
nothing more than that gets past this check. An action's notices (``messages.py``) must
be messages the file or ``common.yaml`` has.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import Any

from ..callbacks import ACTIONS, GUARDS
from ..messages import ACTION_NOTICES
from ..source import PathKey
from .context import Context

# What a guard expression may contain: names, and/or/not (UnaryOp is checked for `not`).
_GUARD_NODES = (ast.Name, ast.Load, ast.BoolOp, ast.And, ast.Or, ast.Not)


def check_guards(
    ctx: Context, path: PathKey, item: Mapping[Any, Any], key: str, ids: frozenset[str]
) -> None:
    value = item.get(key)
    if value is None:
        return
    exprs = list(enumerate(value)) if isinstance(value, list) else [(None, value)]
    for index, expr in exprs:
        where = (*path, key) if index is None else (*path, key, index)
        names = _guard_names(expr) if isinstance(expr, str) else None
        if names is None:
            ctx.add(where, f"{key} {expr!r} must be guard names joined by and/or/not")
            continue
        for name in names:
            if name in ids:
                ctx.add(where, f"guard {name!r} in {key} is also a state id")
            elif name not in GUARDS and name not in ctx.own_guards:
                ctx.add(where, f"unknown guard {name!r} in {key}")


def _guard_names(expr: str) -> list[str] | None:
    """Names in a guard expression, or ``None`` if it is more than and/or/not of names."""
    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except SyntaxError:
        return None
    nodes = list(ast.walk(tree.body))
    for node in nodes:
        if isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, ast.Not):
                return None
        elif not isinstance(node, _GUARD_NODES):
            return None
    return [node.id for node in nodes if isinstance(node, ast.Name)]


def check_actions(ctx: Context, path: PathKey, node: Mapping[Any, Any], slot: str) -> None:
    value = node.get(slot)
    if value is None:
        return
    items = list(enumerate(value)) if isinstance(value, list) else [(None, value)]
    for index, name in items:
        where = (*path, slot) if index is None else (*path, slot, index)
        if not isinstance(name, str):
            ctx.add(where, f"{slot} must name actions from callbacks.ACTIONS, not {name!r}")
        elif name not in ACTIONS and name not in ctx.own_calls:
            ctx.add(where, f"unknown action {name!r} in {slot}")
        else:
            ctx.actions.setdefault(name, where)


def check_action_notices(ctx: Context) -> None:
    """Each notice an action the machine names may raise needs its message (own or shared):
    the engine would fail the subscriber's hop looking it up."""
    for action, where in ctx.actions.items():
        for key in ACTION_NOTICES.get(action, {}):
            if key not in ctx.message_keys:
                ctx.add(
                    where,
                    f"action {action!r} shows message {key!r}, which neither this file's "
                    "messages nor common.yaml has",
                )
