"""``run_check``: the command line's view of the checker (``ussd-gateway menus check``).

One ``file:line: problem`` per line, or ``ok: N files``; exit status 0 when clean, 1 not.
The paths mean what they mean to the gateway (``files.py``: files and directories, the
shared texts, ``sms.yaml``); without any it checks the menus shipped in the ``menus``
package.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TextIO

from .checker import check_menus


def run_check(
    paths: Sequence[str | Path],
    out: TextIO,
    *,
    sms_commands: Path | None = None,
    backends: frozenset[str] = frozenset(),
) -> int:
    """Print each problem (or ``ok: N files``); 0 when clean, 1 otherwise.

    ``sms_commands``: an SMS command file to check as well (the one the gateway reads).
    ``backends``: the configured back-ends a menu's calls may name.
    """
    chosen = [Path(p) for p in paths] if paths else _shipped_menu_paths()
    if sms_commands is not None:
        chosen.append(sms_commands)
    checked = check_menus(chosen, backends=backends)
    for problem in checked.problems:
        print(problem, file=out)
    if not checked.problems:
        print(f"ok: {len(checked.files)} files", file=out)
    return 1 if checked.problems else 0


def _shipped_menu_paths() -> list[Path]:
    # Looked up on the package when called, not bound here at import: the package's
    # ``default_menu_paths`` is the name callers know, and replacing it there (as the tests
    # do) must still choose what a bare ``run_check`` checks.
    from ussd_gateway.menus import check

    return check.default_menu_paths()


def main(argv: Iterable[str]) -> int:
    """``python -m ussd_gateway.menus.check [FILES...]``: check, print to stdout."""
    return run_check(list(argv), sys.stdout)
