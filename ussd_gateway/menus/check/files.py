"""Menu files on disk: which files a list of paths means, and reading them into problems.

The rule, one for ``serve`` and ``menus check`` alike (``[menus] paths`` in the settings,
or the files given on the command line):

- an entry is a file, or a directory meaning its ``*.yaml`` in name order less ``sms.yaml``;
  no entries mean the shipped menus (the ``menus`` package);
- a ``common.yaml`` among them holds the shared texts (the engine's messages and the
  pagination labels); without one, the ``common.yaml`` beside a listed service file does;
  without that, the shipped ``menus/common.yaml``. One file supplies them all: every text
  the engine shows (``messages.SHARED_TEXTS``) must be in it;
- an ``sms.yaml`` given as a file is an SMS command file, checked by the SMS command rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
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
    return _menu_files(Path(str(files("menus"))))


def shipped_common_path() -> Path:
    """The shipped shared texts, ``menus/common.yaml``: used when none is configured."""
    return Path(str(files("menus") / COMMON_FILE))


def _menu_files(folder: Path) -> list[Path]:
    return sorted(
        entry
        for entry in folder.iterdir()
        if entry.name.endswith(".yaml") and entry.name != SMS_COMMANDS_FILE and entry.is_file()
    )


@dataclass(frozen=True)
class MenuFiles:
    """What a list of paths means: each file once, in the order given."""

    files: tuple[Path, ...]
    problems: tuple[Problem, ...] = ()
    """Entries that name nothing usable (an empty directory)."""

    @property
    def services(self) -> tuple[Path, ...]:
        """The service menus: every file but ``common.yaml`` and ``sms.yaml``."""
        return tuple(p for p in self.files if p.name not in (COMMON_FILE, SMS_COMMANDS_FILE))

    @property
    def commons(self) -> tuple[Path, ...]:
        """Every ``common.yaml`` among the entries (more than one is a problem)."""
        return tuple(p for p in self.files if p.name == COMMON_FILE)

    @property
    def sms(self) -> tuple[Path, ...]:
        """SMS command files (``sms.yaml`` given as a file)."""
        return tuple(p for p in self.files if p.name == SMS_COMMANDS_FILE)


def menu_files(entries: Sequence[Path]) -> MenuFiles:
    """Expand ``entries`` (files and directories; none: the shipped menus) into files,
    each once, in the order given."""
    expanded: list[Path] = []
    problems: list[Problem] = []
    for entry in [Path(e) for e in entries] or default_menu_paths():
        if entry.is_dir():
            found = _menu_files(entry)
            if not found:
                problems.append(Problem(str(entry), 1, "the directory has no menu files (*.yaml)"))
            expanded += found
        else:
            expanded.append(entry)  # a missing file is reported when it is read
    seen: set[Path] = set()
    unique = []
    for path in expanded:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(path)
    return MenuFiles(tuple(unique), tuple(problems))


def shared_texts_path(found: MenuFiles) -> Path:
    """The file the shared texts come from (see the module's rule)."""
    if found.commons:
        return found.commons[0]
    for path in found.services:
        beside = path.parent / COMMON_FILE
        if beside.is_file():
            return beside
    return shipped_common_path()


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
    """The ``common.yaml`` serving ``path`` on its own (``check_files``), parsed once per
    run (``cache``), if any."""
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
