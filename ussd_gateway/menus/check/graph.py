"""The machine as a graph: states, transitions, targets, and what is reachable.

This reads the ``machine`` section into the few facts the screen checks need (``State``,
``Transition``), reports what python-statemachine would accept but a USSD menu cannot use
(nested states, bad targets, unreachable states), and then lets the library judge the
whole document (``library.py``). Guard and action names are checked in
``callback_names.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..source import PathKey
from .callback_names import check_actions, check_guards
from .context import Context
from .library import check_library

# The engine shows one screen per state, so nesting has no screen to show.
_UNSUPPORTED_STATE_KEYS = ("states", "parallel", "history", "invoke")


_TRUE_FLAGS = frozenset({"true", "yes", "on", "1"})


@dataclass(frozen=True)
class Transition:
    """One transition as the screen checks see it; ``target`` is ``None`` if it is no state."""

    path: PathKey
    events: tuple[str, ...]
    target: str | None
    conditional: bool


@dataclass(frozen=True)
class State:
    """One state: is it final, and which events (or none: eventless) move it on."""

    id: str
    path: PathKey
    final: bool
    transitions: tuple[Transition, ...]

    @property
    def eventless(self) -> tuple[Transition, ...]:
        return tuple(t for t in self.transitions if not t.events)

    def handles(self, event: str) -> bool:
        return any(event in t.events for t in self.transitions)


def check_machine(ctx: Context, data: Mapping[Any, Any]) -> dict[str, State]:
    machine = data.get("machine")
    if machine is None:
        ctx.add((), "missing 'machine'")
        return {}
    before = len(ctx.problems)
    raw = machine.get("states") if isinstance(machine, Mapping) else None
    raw_states = raw if isinstance(raw, Mapping) else {}
    ids = frozenset(str(k) for k in raw_states)
    states: dict[str, State] = {}
    for sid, raw_def in raw_states.items():
        path = ("machine", "states", sid)
        sdef = raw_def if isinstance(raw_def, Mapping) else {}
        for key in _UNSUPPORTED_STATE_KEYS:
            if key in sdef:
                ctx.add((*path, key), f"state {sid!r}: {key!r} is not supported in a USSD menu")
        for slot in ("enter", "exit"):
            check_actions(ctx, path, sdef, slot)
        transitions = _check_transitions(ctx, path, sdef.get("transitions"), ids)
        states[str(sid)] = State(str(sid), path, _flag(sdef.get("final")), transitions)
    check_library(ctx, machine, ids, build=len(ctx.problems) == before)
    if states:
        initial = next((s for s, d in raw_states.items() if _is_initial(d)), next(iter(states)))
        _check_reachable(ctx, states, str(initial))
    return states


def _check_transitions(
    ctx: Context, state_path: PathKey, raw: Any, ids: frozenset[str]
) -> tuple[Transition, ...]:
    if not isinstance(raw, list):
        return ()  # absent, or a shape python-statemachine reports
    result: list[Transition] = []
    for index, item in enumerate(raw):
        if not isinstance(item, Mapping):
            continue
        path = (*state_path, "transitions", index)
        event = item.get("event")
        if event is not None and not isinstance(event, str):
            ctx.add((*path, "event"), f"event must be a name, not {event!r}")
        events = tuple(event.split()) if isinstance(event, str) else ()
        target = item.get("target")
        if target is not None and (not isinstance(target, str) or target not in ids):
            ctx.add((*path, "target"), f"target {target!r} is not a state")
            target = None
        for key in ("cond", "unless"):
            check_guards(ctx, path, item, key, ids)
        for slot in ("on", "before", "after"):
            check_actions(ctx, path, item, slot)
        conditional = bool(item.get("cond") or item.get("unless"))
        result.append(Transition(path, events, target, conditional))
    return tuple(result)


def _flag(value: Any) -> bool:
    # Same spellings python-statemachine accepts, so both agree on what is final.
    if isinstance(value, str):
        return value.strip().lower() in _TRUE_FLAGS
    return bool(value)


def _is_initial(sdef: Any) -> bool:
    return isinstance(sdef, Mapping) and _flag(sdef.get("initial"))


def _check_reachable(ctx: Context, states: dict[str, State], initial: str) -> None:
    seen = {initial}
    queue = [initial]
    while queue:
        for transition in states[queue.pop()].transitions:
            if transition.target is not None and transition.target not in seen:
                seen.add(transition.target)
                queue.append(transition.target)
    for sid, state in states.items():
        if sid not in seen:
            ctx.add(state.path, f"state {sid!r} is unreachable from the initial state {initial!r}")
