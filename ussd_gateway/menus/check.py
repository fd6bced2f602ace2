"""Check menu YAML files and report every problem as ``file:line: problem``.

A menu is loaded at gateway start-up, but a typo found there is found too late: this
checker runs in CI and from the command line (``python -m ussd_gateway.menus.check``)
and points at the offending line. It checks what python-statemachine cannot know about a
USSD menu: callback names, screens and their options, dead ends, languages and whether
each text fits a USSD screen in the encoding it will be sent in.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any, TextIO

from statemachine.io import load as load_machine

from sms.encoding import Encoding, Measure, measure, ussd_limit

from .callbacks import ACTIONS, GUARDS
from .source import MenuSource, MenuSyntaxError, PathKey, read_menu_file

LANGUAGES: tuple[str, ...] = ("ru", "en")
COMMON_FILE = "common.yaml"
SMS_COMMANDS_FILE = "sms.yaml"

_SERVICE_FILE_KEYS = frozenset({"service", "machine", "screens", "messages"})
_COMMON_FILE_KEYS = frozenset({"messages"})
_SERVICE_KEYS = frozenset({"code", "title", "limit"})
_SCREEN_KEYS = frozenset({"text", "options", "input"})
_OPTION_KEYS = frozenset({"key", "event", "label"})
_INPUT_KEYS = frozenset({"event", "secret", "pattern", "max_length", "invalid"})
# The engine shows one screen per state, so nesting has no screen to show.
_UNSUPPORTED_STATE_KEYS = ("states", "parallel", "history", "invoke")

_CODE = re.compile(r"\*[0-9]+(\*[0-9]+)*#")
_OPTION_KEY = re.compile(r"[0-9]{1,2}")
_RESERVED_KEYS = {"98": "more", "00": "back"}
_PLACEHOLDER = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")
# A placeholder's value is unknown here; two digits is what attempt counters render as.
_PLACEHOLDER_SAMPLE = "99"
_NAV_DEFAULTS = {"nav_more": ("98", "More"), "nav_back": ("00", "Back")}
_ENCODING_NAMES = {Encoding.GSM7: "GSM-7", Encoding.UCS2: "UCS-2"}
_TRUE_FLAGS = frozenset({"true", "yes", "on", "1"})
# What a guard expression may contain: names, and/or/not (UnaryOp is checked for `not`).
_GUARD_NODES = (ast.Name, ast.Load, ast.BoolOp, ast.And, ast.Or, ast.Not)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a menu file, at the line a reader should look at."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass(frozen=True)
class _Transition:
    path: PathKey
    events: tuple[str, ...]
    target: str | None
    conditional: bool


@dataclass(frozen=True)
class _State:
    id: str
    path: PathKey
    final: bool
    transitions: tuple[_Transition, ...]

    @property
    def eventless(self) -> tuple[_Transition, ...]:
        return tuple(t for t in self.transitions if not t.events)

    def handles(self, event: str) -> bool:
        return any(event in t.events for t in self.transitions)


@dataclass
class _Context:
    """What every check needs: the file, its settings, and where problems go."""

    source: MenuSource
    languages: tuple[str, ...]
    message_keys: frozenset[str]
    nav: dict[str, dict[str, str]]
    messages: dict[str, Any] = field(default_factory=dict)
    """Message texts (own over common), for measuring a notice above its screen."""
    limits: dict[Encoding, int] = field(
        default_factory=lambda: {e: ussd_limit(e) for e in Encoding}
    )
    problems: list[Problem] = field(default_factory=list)

    def add(self, path: PathKey, message: str) -> None:
        self.problems.append(Problem(self.source.file, self.source.line_of(*path), message))


def check_source(
    source: MenuSource,
    *,
    common: MenuSource | None = None,
    languages: tuple[str, ...] = LANGUAGES,
) -> list[Problem]:
    """Check one parsed menu file; problems come sorted by line.

    ``common`` supplies the engine-wide messages (message keys any service may name, and
    the pagination labels ``nav_more``/``nav_back``). A file named ``common.yaml`` is
    itself checked as that engine-wide file: ``messages`` only.
    """
    data = source.data
    common_messages = _messages_of(common)
    own_messages = data.get("messages") if isinstance(data, Mapping) else None
    keys = set(common_messages)
    if isinstance(own_messages, Mapping):
        keys |= {str(k) for k in own_messages}
    ctx = _Context(source, languages, frozenset(keys), _nav_lines(common_messages, languages))
    ctx.messages = {**common_messages}
    if isinstance(own_messages, Mapping):
        ctx.messages.update({str(k): v for k, v in own_messages.items()})
    if not isinstance(data, Mapping):
        ctx.add((), "a menu file must be a mapping (service, machine, screens, messages)")
    elif Path(source.file).name == COMMON_FILE:
        _check_keys(ctx, (), data, _COMMON_FILE_KEYS, "top-level")
        _check_messages(ctx, data)
    else:
        _check_keys(ctx, (), data, _SERVICE_FILE_KEYS, "top-level")
        _check_service(ctx, data)
        states = _check_machine(ctx, data)
        _check_screens(ctx, data, states)
        _check_messages(ctx, data)
    return sorted(ctx.problems, key=lambda p: p.line)


def check_files(paths: Sequence[Path]) -> list[Problem]:
    """Check menu files; a ``common.yaml`` beside a file (or among ``paths``) is shared."""
    problems: list[Problem] = []
    listed = [Path(p) for p in paths]
    commons: dict[Path, MenuSource | None] = {}
    for path in listed:
        source = _read(path, problems)
        if source is None:
            continue
        common = None
        if path.name != COMMON_FILE:
            common = _common_for(path, listed, commons, problems)
        problems.extend(check_source(source, common=common))
    return problems


def default_menu_paths() -> list[Path]:
    """Return the shipped USSD menu files: ``*.yaml`` in the ``menus`` package.

    ``sms.yaml`` beside them holds the SMS commands (``sms/commands.py`` reads it).
    """
    folder = files("menus")
    return sorted(
        Path(str(entry))
        for entry in folder.iterdir()
        if entry.name.endswith(".yaml") and entry.name != SMS_COMMANDS_FILE
    )


def run_check(paths: Sequence[str], out: TextIO) -> int:
    """Print each problem (or ``ok: N files``); 0 when clean, 1 otherwise."""
    chosen = [Path(p) for p in paths] if paths else default_menu_paths()
    problems = check_files(chosen)
    for problem in problems:
        print(problem, file=out)
    if not problems:
        print(f"ok: {len(chosen)} files", file=out)
    return 1 if problems else 0


def mermaid(path: Path) -> str:
    """Mermaid state diagram of the file's machine, drawn by python-statemachine itself.

    Raises:
        MenuSyntaxError: if the file is not valid YAML.
        ValueError: if it has no machine (InvalidDefinition if the library rejects it).
    """
    source = read_menu_file(path)
    machine = source.data.get("machine") if isinstance(source.data, Mapping) else None
    if machine is None:
        raise ValueError(f"{path}: no machine")
    cls = load_machine(_as_json(machine), format="json")
    return f"{cls:mermaid}"


# --- files -------------------------------------------------------------------------


def _read(path: Path, problems: list[Problem]) -> MenuSource | None:
    try:
        return read_menu_file(path)
    except MenuSyntaxError as exc:
        problems.append(Problem(exc.file or str(path), exc.line, exc.message))
    except OSError as exc:
        problems.append(Problem(str(path), 1, f"cannot read the file: {exc.strerror}"))
    return None


def _common_for(
    path: Path,
    listed: list[Path],
    cache: dict[Path, MenuSource | None],
    problems: list[Problem],
) -> MenuSource | None:
    beside = path.parent / COMMON_FILE
    candidates = [beside] if beside.is_file() else [p for p in listed if p.name == COMMON_FILE]
    if not candidates:
        return None
    common = candidates[0]
    if common not in cache:
        # A broken common file that was not asked for is still reported, once: without
        # it every service file would report its shared message keys as missing.
        errors: list[Problem] = []
        cache[common] = _read(common, errors)
        if common not in listed:
            problems.extend(errors)
    return cache[common]


def _messages_of(common: MenuSource | None) -> dict[str, Any]:
    data = common.data if common is not None else None
    messages = data.get("messages") if isinstance(data, Mapping) else None
    return {str(k): v for k, v in messages.items()} if isinstance(messages, Mapping) else {}


def _nav_lines(messages: dict[str, Any], languages: tuple[str, ...]) -> dict[str, dict[str, str]]:
    nav: dict[str, dict[str, str]] = {}
    for name, (key, fallback) in _NAV_DEFAULTS.items():
        texts = messages.get(name)
        for lang in languages:
            label = texts.get(lang) if isinstance(texts, Mapping) else None
            nav.setdefault(lang, {})[name] = (
                f"{key}. {label if isinstance(label, str) else fallback}"
            )
    return nav


def _as_json(value: Any) -> str:
    # JSON keeps strings like "on" as strings; indent adds a newline so statemachine.io
    # never mistakes a short document for a file name.
    return json.dumps(value, indent=1, default=str)


# --- generic shapes ----------------------------------------------------------------


def _check_keys(
    ctx: _Context, path: PathKey, node: Mapping[Any, Any], allowed: frozenset[str], kind: str
) -> None:
    for key in node:
        if key not in allowed:
            ctx.add((*path, key), f"unknown {kind} key {key!r}; expected one of {sorted(allowed)}")


def _texts(ctx: _Context, path: PathKey, value: Any, what: str) -> dict[str, str]:
    """Check a per-language text mapping; return the usable texts by language."""
    if not isinstance(value, Mapping):
        ctx.add(path, f"{what} must map each language ({', '.join(ctx.languages)}) to a text")
        return {}
    for lang in ctx.languages:
        if lang not in value:
            ctx.add(path, f"{what} is missing language {lang!r}")
    usable: dict[str, str] = {}
    for lang, text in value.items():
        where = (*path, lang)
        if lang not in ctx.languages:
            ctx.add(where, f"{what} has unknown language {lang!r}")
        elif not isinstance(text, str):
            ctx.add(where, f"{what} ({lang}) must be a string")
        else:
            stray = _PLACEHOLDER.sub("", text)
            if "{" in stray or "}" in stray:
                ctx.add(where, f"{what} ({lang}) has a '{{' or '}}' outside a {{name}} placeholder")
            usable[lang] = text
    return usable


def _overflow(ctx: _Context, subject: str, text: str) -> str | None:
    """``None`` if ``text`` fits one screen, else the message saying by how much."""
    m: Measure = measure(_PLACEHOLDER.sub(_PLACEHOLDER_SAMPLE, text))
    limit = ctx.limits[m.encoding]
    if m.units <= limit:
        return None
    name = _ENCODING_NAMES[m.encoding]
    return f"{subject} is {m.units} {name} characters; the limit is {limit}"


def _check_page_line(ctx: _Context, path: PathKey, subject: str, lang: str, line: str) -> None:
    # The paginator keeps a line whole only if it fits a middle page, beside both
    # navigation lines; a longer one would be split across pages.
    navs = list(ctx.nav[lang].values())
    problem = _overflow(
        ctx, f"{subject} with '{navs[0]}' and '{navs[1]}'", "\n".join([line, *navs])
    )
    if problem:
        ctx.add(path, problem)


# --- service -----------------------------------------------------------------------


def _check_service(ctx: _Context, data: Mapping[Any, Any]) -> None:
    service = data.get("service")
    if not isinstance(service, Mapping):
        ctx.add(("service",), "missing 'service' mapping with 'code' and 'title'")
        return
    _check_keys(ctx, ("service",), service, _SERVICE_KEYS, "service")
    code = service.get("code")
    if code is None:
        ctx.add(("service",), "missing service.code")
    elif not isinstance(code, str) or not _CODE.fullmatch(code):
        ctx.add(("service", "code"), f"service.code {code!r} is not a USSD code like '*141*0#'")
    if "title" in service:
        _texts(ctx, ("service", "title"), service["title"], "service title")
    else:
        ctx.add(("service",), "missing service.title")
    limit = service.get("limit")
    if limit is not None:
        _check_limit(ctx, limit)


def _check_limit(ctx: _Context, limit: Any) -> None:
    if not isinstance(limit, Mapping):
        ctx.add(("service", "limit"), "service.limit must map gsm7/ucs2 to a number")
        return
    for encoding in Encoding:
        value = limit.get(encoding.value)
        if value is None:
            continue
        most = ussd_limit(encoding)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= most:
            path = ("service", "limit", encoding.value)
            ctx.add(path, f"service.limit.{encoding.value} must be a whole number from 1 to {most}")
        else:
            ctx.limits[encoding] = value
            _check_limit_room(ctx, encoding, value)
    _check_keys(ctx, ("service", "limit"), limit, frozenset(e.value for e in Encoding), "limit")


_MIN_PAGE_TEXT = 10
"""Units of text a middle page must hold besides its two navigation lines."""


def _check_limit_room(ctx: _Context, encoding: Encoding, value: int) -> None:
    """A lowered limit must leave a middle page room for text beside both navigation lines."""
    for lang, navs in ctx.nav.items():
        nav = measure("\n".join(["", *navs.values()]))
        if nav.encoding is not encoding:
            continue
        need = nav.units + _MIN_PAGE_TEXT
        if value < need:
            ctx.add(
                ("service", "limit", encoding.value),
                f"service.limit.{encoding.value} of {value} leaves no room for text beside the "
                f"navigation lines ({lang}); use at least {need}",
            )


# --- machine -----------------------------------------------------------------------


def _check_machine(ctx: _Context, data: Mapping[Any, Any]) -> dict[str, _State]:
    machine = data.get("machine")
    if machine is None:
        ctx.add((), "missing 'machine'")
        return {}
    raw = machine.get("states") if isinstance(machine, Mapping) else None
    raw_states = raw if isinstance(raw, Mapping) else {}
    ids = frozenset(str(k) for k in raw_states)
    states: dict[str, _State] = {}
    for sid, raw_def in raw_states.items():
        path = ("machine", "states", sid)
        sdef = raw_def if isinstance(raw_def, Mapping) else {}
        for key in _UNSUPPORTED_STATE_KEYS:
            if key in sdef:
                ctx.add((*path, key), f"state {sid!r}: {key!r} is not supported in a USSD menu")
        for slot in ("enter", "exit"):
            _check_actions(ctx, path, sdef, slot)
        transitions = _check_transitions(ctx, path, sdef.get("transitions"), ids)
        states[str(sid)] = _State(str(sid), path, _flag(sdef.get("final")), transitions)
    _check_library(ctx, machine, ids)
    if states:
        initial = next((s for s, d in raw_states.items() if _is_initial(d)), next(iter(states)))
        _check_reachable(ctx, states, str(initial))
    return states


def _check_transitions(
    ctx: _Context, state_path: PathKey, raw: Any, ids: frozenset[str]
) -> tuple[_Transition, ...]:
    if not isinstance(raw, list):
        return ()  # absent, or a shape python-statemachine reports
    result: list[_Transition] = []
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
            _check_guards(ctx, path, item, key, ids)
        for slot in ("on", "before", "after"):
            _check_actions(ctx, path, item, slot)
        conditional = bool(item.get("cond") or item.get("unless"))
        result.append(_Transition(path, events, target, conditional))
    return tuple(result)


def _check_guards(
    ctx: _Context, path: PathKey, item: Mapping[Any, Any], key: str, ids: frozenset[str]
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
            elif name not in GUARDS:
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


def _check_actions(ctx: _Context, path: PathKey, node: Mapping[Any, Any], slot: str) -> None:
    value = node.get(slot)
    if value is None:
        return
    items = list(enumerate(value)) if isinstance(value, list) else [(None, value)]
    for index, name in items:
        where = (*path, slot) if index is None else (*path, slot, index)
        if not isinstance(name, str):
            ctx.add(where, f"{slot} must name actions from callbacks.ACTIONS, not {name!r}")
        elif name not in ACTIONS:
            ctx.add(where, f"unknown action {name!r} in {slot}")


def _check_library(ctx: _Context, machine: Any, ids: frozenset[str]) -> None:
    """Let python-statemachine judge the document, minus what was reported with a line."""
    try:
        load_machine(_as_json(_without_reported(machine, ids)), format="json")
    except Exception as exc:
        # The library appends its whole internal definition; the reason is the first part.
        reason = str(exc).split(" from definition: ")[0]
        ctx.add(("machine",), f"python-statemachine rejects the machine: {reason}")


def _without_reported(machine: Any, ids: frozenset[str]) -> Any:
    # Guards and actions are checked above, by name and with their lines; bad targets too.
    # Removing them keeps the library from repeating those problems without a line.
    if not isinstance(machine, Mapping) or not isinstance(machine.get("states"), Mapping):
        return machine
    states = {sid: _bare_state(sdef, ids) for sid, sdef in machine["states"].items()}
    return {**machine, "states": states}


def _bare_state(sdef: Any, ids: frozenset[str]) -> Any:
    if not isinstance(sdef, Mapping):
        return sdef
    bare = {k: v for k, v in sdef.items() if k not in ("enter", "exit")}
    if isinstance(bare.get("transitions"), list):
        bare["transitions"] = [_bare_transition(t, ids) for t in bare["transitions"]]
    return bare


def _bare_transition(transition: Any, ids: frozenset[str]) -> Any:
    if not isinstance(transition, Mapping):
        return transition
    skip = {"cond", "unless", "on", "before", "after"}
    bare = {k: v for k, v in transition.items() if k not in skip}
    if "target" in bare and not (isinstance(bare["target"], str) and bare["target"] in ids):
        del bare["target"]
    return bare


def _flag(value: Any) -> bool:
    # Same spellings python-statemachine accepts, so both agree on what is final.
    if isinstance(value, str):
        return value.strip().lower() in _TRUE_FLAGS
    return bool(value)


def _is_initial(sdef: Any) -> bool:
    return isinstance(sdef, Mapping) and _flag(sdef.get("initial"))


def _check_reachable(ctx: _Context, states: dict[str, _State], initial: str) -> None:
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


# --- screens -----------------------------------------------------------------------


def _check_screens(ctx: _Context, data: Mapping[Any, Any], states: dict[str, _State]) -> None:
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


def _check_state_screen(ctx: _Context, state: _State, screen: Any) -> None:
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


def _check_screen(ctx: _Context, state: _State, screen: Mapping[Any, Any]) -> None:
    path = ("screens", state.id)
    _check_keys(ctx, path, screen, _SCREEN_KEYS, "screen")
    if "text" in screen:
        texts = _texts(ctx, (*path, "text"), screen["text"], f"screen {state.id!r} text")
    else:
        ctx.add(path, f"screen {state.id!r} has no text")
        texts = {}
    if state.final:
        _check_final_screen(ctx, state, screen, texts)
        return
    for lang, text in texts.items():
        for number, line in enumerate(text.split("\n"), start=1):
            subject = f"screen {state.id!r} ({lang}) text line {number}"
            _check_page_line(ctx, (*path, "text", lang), subject, lang, line)
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
    ctx: _Context, state: _State, screen: Mapping[Any, Any], texts: dict[str, str]
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
        if _overflow(ctx, "", "\n".join(lines[1:])):
            continue  # paginated by design already; the notice only adds to its first page
        problem = _overflow(
            ctx, f"screen {state.id!r} ({lang}) under notice {notice_key!r}", "\n".join(lines)
        )
        if problem:
            ctx.add(
                ("screens", state.id, "text"),
                problem + "; the notice would push it to a second page",
            )


def _check_final_screen(
    ctx: _Context, state: _State, screen: Mapping[Any, Any], texts: dict[str, str]
) -> None:
    path = ("screens", state.id)
    for key in ("options", "input"):
        if key in screen:
            ctx.add((*path, key), f"final screen {state.id!r} cannot have {key}")
    # The session ends with this screen, so it cannot be paginated: all of it must fit.
    for lang, text in texts.items():
        problem = _overflow(ctx, f"screen {state.id!r} ({lang})", text)
        if problem:
            ctx.add((*path, "text", lang), problem)


def _check_options(ctx: _Context, state: _State, options: Any) -> None:
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
        _check_keys(ctx, where, option, _OPTION_KEYS, "option")
        key = _check_option_key(ctx, where, option.get("key"), seen)
        _check_event(ctx, where, state, option.get("event"), f"option {key}")
        if "label" not in option:
            ctx.add(where, f"option {key} has no label")
            continue
        labels = _texts(ctx, (*where, "label"), option["label"], f"option {key} label")
        for lang, label in labels.items():
            subject = f"screen {state.id!r} ({lang}) option {key}"
            _check_page_line(ctx, (*where, "label", lang), subject, lang, f"{key}. {label}")


def _check_option_key(ctx: _Context, path: PathKey, key: Any, seen: set[str]) -> str:
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


def _check_event(ctx: _Context, path: PathKey, state: _State, event: Any, what: str) -> None:
    if event is None:
        ctx.add(path, f"{what} has no event")
    elif not isinstance(event, str):
        ctx.add((*path, "event"), f"{what} event must be a name, not {event!r}")
    elif not state.handles(event):
        ctx.add(
            (*path, "event"),
            f"{what} sends event {event!r} but state {state.id!r} has no transition on it",
        )


def _check_input(ctx: _Context, state: _State, spec: Any) -> None:
    path = ("screens", state.id, "input")
    if not isinstance(spec, Mapping):
        ctx.add(path, "input must be a mapping with at least an event")
        return
    _check_keys(ctx, path, spec, _INPUT_KEYS, "input")
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


# --- messages ----------------------------------------------------------------------


def _check_messages(ctx: _Context, data: Mapping[Any, Any]) -> None:
    messages = data.get("messages")
    if messages is None:
        return
    if not isinstance(messages, Mapping):
        ctx.add(("messages",), "messages must map message keys to texts")
        return
    for key, value in messages.items():
        path = ("messages", key)
        for lang, text in _texts(ctx, path, value, f"message {key!r}").items():
            problem = _overflow(ctx, f"message {key!r} ({lang})", text)
            if problem:
                ctx.add((*path, lang), problem)


def _main(argv: Iterable[str]) -> int:
    return run_check(list(argv), sys.stdout)


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
