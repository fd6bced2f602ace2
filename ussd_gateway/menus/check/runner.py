"""``run_check``: the command line's view of the checker (``ussd-gateway menus check``).

One ``file:line: problem`` per line, or ``ok: N files``; exit status 0 when clean, 1 not.
Without files it checks the menus shipped in the ``menus`` package.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TextIO

from .checker import check_files


def run_check(paths: Sequence[str], out: TextIO) -> int:
    """Print each problem (or ``ok: N files``); 0 when clean, 1 otherwise."""
    chosen = [Path(p) for p in paths] if paths else _shipped_menu_paths()
    problems = check_files(chosen)
    for problem in problems:
        print(problem, file=out)
    if not problems:
        print(f"ok: {len(chosen)} files", file=out)
    return 1 if problems else 0


def _shipped_menu_paths() -> list[Path]:
    # Looked up on the package when called, not bound here at import: the package's
    # ``default_menu_paths`` is the name callers know, and replacing it there (as the tests
    # do) must still choose what a bare ``run_check`` checks.
    from ussd_gateway.menus import check

    return check.default_menu_paths()


def main(argv: Iterable[str]) -> int:
    """``python -m ussd_gateway.menus.check [FILES...]``: check, print to stdout."""
    return run_check(list(argv), sys.stdout)
