"""The checker's two entry points: ``check_source`` for one parsed file, ``check_files``.

``check_source`` builds the context a file's checks share and runs them in the order the
file reads: top-level keys, service, machine, screens, messages (problems are then sorted
by line, stably, so problems on one line keep that order). ``check_files`` reads the files
and pairs each service file with its ``common.yaml``; it is also the loader's start-up check.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..source import MenuSource
from .context import LANGUAGES, Context, Problem
from .files import COMMON_FILE, common_for, read_source
from .graph import check_machine
from .screens import check_screens
from .structure import check_service, check_top_level
from .texts import check_messages, nav_lines


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
    ctx = Context(source, languages, frozenset(keys), nav_lines(common_messages, languages))
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
        states = check_machine(ctx, data)
        check_screens(ctx, data, states)
        check_messages(ctx, data)
    return sorted(ctx.problems, key=lambda p: p.line)


def check_files(paths: Sequence[Path]) -> list[Problem]:
    """Check menu files; a ``common.yaml`` beside a file (or among ``paths``) is shared."""
    problems: list[Problem] = []
    listed = [Path(p) for p in paths]
    commons: dict[Path, MenuSource | None] = {}
    for path in listed:
        source = read_source(path, problems)
        if source is None:
            continue
        common = None
        if path.name != COMMON_FILE:
            common = common_for(path, listed, commons, problems)
        problems.extend(check_source(source, common=common))
    return problems


def _messages_of(common: MenuSource | None) -> dict[str, Any]:
    """The engine-wide messages by key; none if there is no usable ``common.yaml``."""
    data = common.data if common is not None else None
    messages = data.get("messages") if isinstance(data, Mapping) else None
    return {str(k): v for k, v in messages.items()} if isinstance(messages, Mapping) else {}
