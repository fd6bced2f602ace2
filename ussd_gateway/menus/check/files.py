"""Menu files on disk: reading them into problems instead of exceptions, ``common.yaml``.

The engine-wide ``common.yaml`` is found beside a service file (or among the files asked
for), and the shipped menus are the ``*.yaml`` of the ``menus`` package, less ``sms.yaml``.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from ..source import MenuSource, MenuSyntaxError, read_menu_file
from .context import Problem

COMMON_FILE = "common.yaml"
SMS_COMMANDS_FILE = "sms.yaml"


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


def read_source(path: Path, problems: list[Problem]) -> MenuSource | None:
    """Parse ``path``; if it cannot be, add why (at its line) and return ``None``."""
    try:
        return read_menu_file(path)
    except MenuSyntaxError as exc:
        problems.append(Problem(exc.file or str(path), exc.line, exc.message))
    except OSError as exc:
        problems.append(Problem(str(path), 1, f"cannot read the file: {exc.strerror}"))
    return None


def common_for(
    path: Path,
    listed: list[Path],
    cache: dict[Path, MenuSource | None],
    problems: list[Problem],
) -> MenuSource | None:
    """The ``common.yaml`` serving ``path``, parsed once per run (``cache``), if any."""
    beside = path.parent / COMMON_FILE
    candidates = [beside] if beside.is_file() else [p for p in listed if p.name == COMMON_FILE]
    if not candidates:
        return None
    common = candidates[0]
    if common not in cache:
        # A broken common file that was not asked for is still reported, once: without
        # it every service file would report its shared message keys as missing.
        errors: list[Problem] = []
        cache[common] = read_source(common, errors)
        if common not in listed:
            problems.extend(errors)
    return cache[common]
