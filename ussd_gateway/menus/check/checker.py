"""The checker's entry points: ``check_source`` for one parsed file, ``check_files`` for
files on their own, and ``check_menus`` for a configuration as the gateway loads it.

``check_source`` builds the context a file's checks share and runs them in the order the
file reads: top-level keys, service, machine, screens, messages (problems are then sorted
by line, stably, so problems on one line keep that order).

``check_files`` pairs each service file with the ``common.yaml`` beside it (or among the
files): a file is checked as written, with nothing added. ``check_menus`` is the start-up
check and ``menus check``'s: the paths mean what ``files.py`` says (directories, the shared
texts from one ``common.yaml``, else the shipped one), every text the engine shows must be
there, and it returns what it parsed and built, so the loader reads each file once and
builds each machine once. Both refuse two files claiming one service code or name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from statemachine import StateChart

from ..messages import SHARED_TEXTS
from ..source import MenuSource
from .callback_names import check_action_notices
from .context import LANGUAGES, Context, Problem
from .files import COMMON_FILE, SMS_COMMANDS_FILE, common_for, menu_files, read_source
from .files import shared_texts_path as _shared_texts_path
from .graph import check_machine
from .screens import check_screens
from .sms_file import check_sms_file
from .structure import check_service, check_top_level
from .texts import check_messages, nav_lines
from .values import check_values, collect_names


def check_source(
    source: MenuSource,
    *,
    common: MenuSource | None = None,
    languages: tuple[str, ...] = LANGUAGES,
    backends: frozenset[str] = frozenset(),
) -> list[Problem]:
    """Check one parsed menu file; problems come sorted by line.

    ``common`` supplies the engine-wide messages (message keys any service may name, and
    the pagination labels ``nav_more``/``nav_back``). A file named ``common.yaml`` is
    itself checked as that engine-wide file: ``messages`` only.
    """
    return _check(source, common, languages, backends).problems


def _check(
    source: MenuSource,
    common: MenuSource | None,
    languages: tuple[str, ...],
    backends: frozenset[str] = frozenset(),
) -> Context:
    data = source.data
    common_messages = _messages_of(common)
    own_messages = data.get("messages") if isinstance(data, Mapping) else None
    keys = set(common_messages)
    if isinstance(own_messages, Mapping):
        keys |= {str(k) for k in own_messages}
    ctx = Context(source, languages, frozenset(keys), nav_lines(common_messages, languages))
    ctx.backends = backends
    ctx.messages = {**common_messages}
    if isinstance(own_messages, Mapping):
        ctx.messages.update({str(k): v for k, v in own_messages.items()})
    if not isinstance(data, Mapping):
        ctx.add((), "a menu file must be a mapping (service, machine, screens, messages)")
    elif Path(source.file).name == COMMON_FILE:
        check_top_level(ctx, data, common=True)
        check_messages(ctx, data)
    else:
        check_top_level(ctx, data, common=False)
        check_service(ctx, data)
        collect_names(ctx, data)
        check_values(ctx, data)
        states = check_machine(ctx, data)
        check_screens(ctx, data, states)
        check_messages(ctx, data)
        check_action_notices(ctx)
    ctx.problems.sort(key=lambda p: p.line)
    return ctx


def check_files(paths: Sequence[Path], *, backends: frozenset[str] = frozenset()) -> list[Problem]:
    """Check menu files as written; a ``common.yaml`` beside a file (or among ``paths``) is
    shared. An ``sms.yaml`` is checked as the SMS command file."""
    if not paths:
        return []
    found = menu_files(paths)
    problems: list[Problem] = list(found.problems)
    listed = list(found.files)
    # Each listed common.yaml is parsed once, whichever file needs it first.
    commons: dict[Path, MenuSource | None] = {}
    common_errors: dict[Path, list[Problem]] = {}
    for path in found.commons:
        common_errors[path] = []
        commons[path] = read_source(path, common_errors[path])
    checked: list[tuple[MenuSource, Context]] = []
    for path in listed:
        if path.name == SMS_COMMANDS_FILE:
            problems.extend(check_sms_file(path))
            continue
        if path in common_errors:
            problems.extend(common_errors[path])
            source = commons[path]
        else:
            source = read_source(path, problems)
        if source is None:
            continue
        common = None
        if path.name != COMMON_FILE:
            common = common_for(path, listed, commons, problems)
        ctx = _check(source, common, LANGUAGES, backends)
        problems.extend(ctx.problems)
        checked.append((source, ctx))
    return problems + _claims(checked)


@dataclass(frozen=True)
class CheckedService:
    """A service file as checked: its parsed source, its name and its machine class."""

    source: MenuSource
    name: str
    machine: type[StateChart[Any]] | None
    """Built by the checker; ``None`` only when the file has problems."""


@dataclass(frozen=True)
class CheckedMenus:
    """What ``check_menus`` found: problems, and what it parsed and built for the loader."""

    problems: tuple[Problem, ...]
    services: tuple[CheckedService, ...] = ()
    shared: MenuSource | None = None
    """The file the shared texts come from, parsed."""
    files: tuple[Path, ...] = field(default=())
    """The files the paths mean (a shared file found beside them or shipped is checked
    too, but not listed here)."""


def check_menus(
    entries: Sequence[Path] = (), *, backends: frozenset[str] = frozenset()
) -> CheckedMenus:
    """Check a menu configuration as the gateway loads it (see ``files.py`` for what the
    paths mean; none: the shipped menus). ``backends``: the configured back-ends' names."""
    found = menu_files(entries)
    problems: list[Problem] = list(found.problems)
    shared_path = _shared_texts_path(found)
    shared = read_source(shared_path, problems)
    checked: list[tuple[MenuSource, Context]] = []
    files = [*found.files] + ([] if shared_path in found.files else [shared_path])
    for path in files:
        if path.name == SMS_COMMANDS_FILE:
            problems.extend(check_sms_file(path))
            continue
        if path == shared_path:
            if shared is not None:
                problems.extend(_check(shared, None, LANGUAGES).problems)
                problems.extend(_missing_shared_texts(shared))
            continue
        source = read_source(path, problems)
        if source is None:
            continue
        if path.name == COMMON_FILE:
            problems.append(
                Problem(
                    str(path),
                    1,
                    f"a second common.yaml: the shared texts come from one file, {shared_path}",
                )
            )
            problems.extend(_check(source, None, LANGUAGES).problems)
            continue
        ctx = _check(source, shared, LANGUAGES, backends)
        problems.extend(ctx.problems)
        checked.append((source, ctx))
    problems += _claims(checked)
    order = {str(path): index for index, path in enumerate(files)}
    problems.sort(key=lambda p: (order.get(p.file, -1), p.line))
    services = tuple(
        CheckedService(source, _service_name(source), ctx.machine) for source, ctx in checked
    )
    return CheckedMenus(tuple(problems), services, shared, found.files)


def _missing_shared_texts(shared: MenuSource) -> list[Problem]:
    """Every text the engine shows must be among the shared ones, or a hop would fail."""
    data = shared.data
    if not isinstance(data, Mapping):
        return []
    messages = data.get("messages")
    keys = {str(k) for k in messages} if isinstance(messages, Mapping) else set()
    line = shared.line_of("messages")
    return [
        Problem(shared.file, line, f"shared text {key!r} is missing: {why}")
        for key, why in SHARED_TEXTS.items()
        if key not in keys
    ]


def _service_name(source: MenuSource) -> str:
    machine = source.data.get("machine") if isinstance(source.data, Mapping) else None
    name = machine.get("name") if isinstance(machine, Mapping) else None
    return str(name or Path(source.file).stem)


def _claims(checked: list[tuple[MenuSource, Context]]) -> list[Problem]:
    """Two files claiming one service code (or one name) are an error naming both: the
    first in name order would otherwise win the code silently."""
    problems: list[Problem] = []
    codes: dict[str, tuple[str, int]] = {}
    names: dict[str, tuple[str, int]] = {}
    for source, _ in checked:
        data = source.data
        if not isinstance(data, Mapping) or Path(source.file).name == COMMON_FILE:
            continue
        service = data.get("service")
        code = service.get("code") if isinstance(service, Mapping) else None
        if isinstance(code, str):
            line = source.line_of("service", "code")
            first = codes.setdefault(code.strip(), (source.file, line))
            if first[0] != source.file:
                problems.append(
                    Problem(
                        source.file,
                        line,
                        f"service code {code!r} is also claimed by {first[0]}:{first[1]}; "
                        "a code belongs to one menu file",
                    )
                )
        name = _service_name(source)
        line = source.line_of("machine", "name")
        first = names.setdefault(name, (source.file, line))
        if first[0] != source.file:
            problems.append(
                Problem(
                    source.file,
                    line,
                    f"service name {name!r} is also used by {first[0]}:{first[1]}; "
                    "a session names its service by it",
                )
            )
    return problems


def _messages_of(common: MenuSource | None) -> dict[str, Any]:
    """The engine-wide messages by key; none if there is no usable ``common.yaml``."""
    data = common.data if common is not None else None
    messages = data.get("messages") if isinstance(data, Mapping) else None
    return {str(k): v for k, v in messages.items()} if isinstance(messages, Mapping) else {}
