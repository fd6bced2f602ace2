"""Screens: the one each waiting or final state shows, its options or input, and its fit.

Every state that waits for the subscriber needs a screen, a final state needs one to end
the session with, and a state that moves on by itself has none to show. A screen offers
numbered options or takes free input; each option and input must send an event its state
handles. A paginated screen's lines must fit a middle page; a final screen must fit one
page whole, and a one-page screen must still fit one when shown again under the engine's
notice for bad input.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..source import PathKey
from .context import Context
from .graph import State
from .structure import check_keys
from .texts import check_page_line, check_texts, overflow
from .values import check_input_saving, check_option_sets

_SCREEN_KEYS = frozenset({"text", "options", "input"})
_OPTION_KEYS = frozenset({"key", "event", "label", "set"})
_INPUT_KEYS = frozenset({"event", "secret", "pattern", "max_length", "invalid", "save_as"})


_OPTION_KEY = re.compile(r"[0-9]{1,2}")
_RESERVED_KEYS = {"98": "more", "00": "back"}


def check_screens(ctx: Context, data: Mapping[Any, Any], states: dict[str, State]) -> None:
    screens = data.get("screens")
    if screens is None:
        screens = {}
    if not isinstance(screens, Mapping):
        ctx.add(("screens",), "screens must map state ids to screens")
        return
    for sid, state in states.items():
        _check_state_screen(ctx, state, screens.get(sid))
    for sid, screen in screens.items():
        path = ("screens", sid)
        if str(sid) not in states:
            ctx.add(path, f"screen {sid!r} is not a state of the machine")
        elif not isinstance(screen, Mapping):
            ctx.add(path, f"screen {sid!r} must be a mapping with text and options or input")
        elif states[str(sid)].eventless:
            ctx.add(path, f"screen {sid!r} is never shown: the state moves on by itself")
        else:
            _check_screen(ctx, states[str(sid)], screen)


def _check_state_screen(ctx: Context, state: State, screen: Any) -> None:
    """Problems of a state as a whole: missing screens, stalls, dead transitions."""
    eventless = state.eventless
    if state.final:
        if screen is None:
            ctx.add(state.path, f"final state {state.id!r} has no screen to end the session with")
        return
    if not eventless:
        if screen is None:
            ctx.add(state.path, f"state {state.id!r} waits for the subscriber but has no screen")
        return
    unconditional = [i for i, t in enumerate(eventless) if not t.conditional]
    if not unconditional:
        ctx.add(
            state.path,
            f"state {state.id!r} can stall: its last eventless transition has a condition",
        )
        return
    first = eventless[unconditional[0]]
    for later in eventless[unconditional[0] + 1 :]:
        ctx.add(
            later.path,
            "eventless transition never fires: an earlier one on line "
            f"{ctx.source.line_of(*first.path)} has no condition",
        )
    for transition in state.transitions:
        if transition.events:
            ctx.add(
                transition.path,
                f"transition on {' '.join(transition.events)!r} never fires: "
                f"state {state.id!r} moves on by itself",
            )


def _check_screen(ctx: Context, state: State, screen: Mapping[Any, Any]) -> None:
    path = ("screens", state.id)
    check_keys(ctx, path, screen, _SCREEN_KEYS, "screen")
    if "text" in screen:
        texts = check_texts(
            ctx,
            (*path, "text"),
            screen["text"],
            f"screen {state.id!r} text",
            ctx.values,
            session_values=True,
        )
    else:
        ctx.add(path, f"screen {state.id!r} has no text")
        texts = {}
    if state.final:
        _check_final_screen(ctx, state, screen, texts)
        return
    for lang, text in texts.items():
        for number, line in enumerate(text.split("\n"), start=1):
            subject = f"screen {state.id!r} ({lang}) text line {number}"
            check_page_line(ctx, (*path, "text", lang), subject, lang, line)
    has_options, has_input = "options" in screen, "input" in screen
    if has_options and has_input:
        ctx.add(path, f"screen {state.id!r} has both options and input; use one")
    elif not (has_options or has_input):
        ctx.add(path, f"screen {state.id!r} needs options or input")
    if has_options:
        _check_options(ctx, state, screen["options"])
    if has_input:
        _check_input(ctx, state, screen["input"])
    _check_with_notice(ctx, state, screen, texts)


_INVALID_CHOICE = "invalid_choice"


def _check_with_notice(
    ctx: Context, state: State, screen: Mapping[Any, Any], texts: dict[str, str]
) -> None:
    """A screen shown again under the notice the engine gives for bad input must still fit
    one page, or its options or prompt would hide behind "98" exactly when help is needed."""
    options = screen.get("options")
    spec = screen.get("input")
    if isinstance(options, list):
        notice_key = _INVALID_CHOICE
    elif isinstance(spec, Mapping) and isinstance(spec.get("invalid"), str):
        notice_key = spec["invalid"]
    else:
        return
    notices = ctx.messages.get(notice_key)
    if not isinstance(notices, Mapping):
        return
    for lang, text in texts.items():
        lines = [str(notices.get(lang, "")), text]
        if isinstance(options, list):
            lines += [
                f"{o.get('key')}. {o['label'].get(lang, '')}"
                for o in options
                if isinstance(o, Mapping) and isinstance(o.get("label"), Mapping)
            ]
        if overflow(ctx, "", "\n".join(lines[1:])):
            continue  # paginated by design already; the notice only adds to its first page
        problem = overflow(
            ctx, f"screen {state.id!r} ({lang}) under notice {notice_key!r}", "\n".join(lines)
        )
        if problem:
            ctx.add(
                ("screens", state.id, "text"),
                problem + "; the notice would push it to a second page",
            )


def _check_final_screen(
    ctx: Context, state: State, screen: Mapping[Any, Any], texts: dict[str, str]
) -> None:
    path = ("screens", state.id)
    for key in ("options", "input"):
        if key in screen:
            ctx.add((*path, key), f"final screen {state.id!r} cannot have {key}")
    # The session ends with this screen, so it cannot be paginated: all of it must fit.
    for lang, text in texts.items():
        problem = overflow(ctx, f"screen {state.id!r} ({lang})", text)
        if problem:
            ctx.add((*path, "text", lang), problem)


def _check_options(ctx: Context, state: State, options: Any) -> None:
    path = ("screens", state.id, "options")
    if not isinstance(options, list) or not options:
        ctx.add(path, f"screen {state.id!r} options must be a non-empty list")
        return
    seen: set[str] = set()
    for index, option in enumerate(options):
        where = (*path, index)
        if not isinstance(option, Mapping):
            ctx.add(where, "an option must be a mapping with key, event and label")
            continue
        check_keys(ctx, where, option, _OPTION_KEYS, "option")
        check_option_sets(ctx, where, option)
        key = _check_option_key(ctx, where, option.get("key"), seen)
        _check_event(ctx, where, state, option.get("event"), f"option {key}")
        if "label" not in option:
            ctx.add(where, f"option {key} has no label")
            continue
        labels = check_texts(ctx, (*where, "label"), option["label"], f"option {key} label")
        for lang, label in labels.items():
            subject = f"screen {state.id!r} ({lang}) option {key}"
            check_page_line(ctx, (*where, "label", lang), subject, lang, f"{key}. {label}")


def _check_option_key(ctx: Context, path: PathKey, key: Any, seen: set[str]) -> str:
    where = (*path, "key")
    if key is None:
        ctx.add(path, "option has no key")
        return "?"
    if not isinstance(key, str):
        ctx.add(where, f"option key {key!r} must be a quoted string of 1-2 digits")
        return str(key)
    if not _OPTION_KEY.fullmatch(key):
        ctx.add(where, f"option key {key!r} must be 1-2 digits")
    elif key in _RESERVED_KEYS:
        ctx.add(where, f"option key {key!r} is reserved for pagination ({_RESERVED_KEYS[key]})")
    elif key in seen:
        ctx.add(where, f"option key {key!r} is used twice on screen {path[1]!r}")
    seen.add(key)
    return key


def _check_event(ctx: Context, path: PathKey, state: State, event: Any, what: str) -> None:
    if event is None:
        ctx.add(path, f"{what} has no event")
    elif not isinstance(event, str):
        ctx.add((*path, "event"), f"{what} event must be a name, not {event!r}")
    elif not state.handles(event):
        ctx.add(
            (*path, "event"),
            f"{what} sends event {event!r} but state {state.id!r} has no transition on it",
        )


def _check_input(ctx: Context, state: State, spec: Any) -> None:
    path = ("screens", state.id, "input")
    if not isinstance(spec, Mapping):
        ctx.add(path, "input must be a mapping with at least an event")
        return
    check_keys(ctx, path, spec, _INPUT_KEYS, "input")
    check_input_saving(ctx, path, spec)
    _check_event(ctx, path, state, spec.get("event"), "input")
    if "secret" in spec and not isinstance(spec["secret"], bool):
        ctx.add((*path, "secret"), "input.secret must be true or false")
    pattern = spec.get("pattern")
    if pattern is not None:
        try:
            re.compile(str(pattern))
        except re.error as exc:
            ctx.add((*path, "pattern"), f"input.pattern does not compile: {exc}")
    length = spec.get("max_length")
    if length is not None and (
        isinstance(length, bool) or not isinstance(length, int) or length < 1
    ):
        ctx.add((*path, "max_length"), "input.max_length must be a positive whole number")
    invalid = spec.get("invalid")
    if invalid is not None and str(invalid) not in ctx.message_keys:
        ctx.add(
            (*path, "invalid"), f"input.invalid names message {invalid!r}, which does not exist"
        )
