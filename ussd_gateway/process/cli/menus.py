"""``menus check`` and ``menus diagram``."""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from ussd_gateway.config import Settings
from ussd_gateway.menus.check import default_menu_paths, mermaid, run_check


def _cmd_menus_check(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    return run_check(args.files, out)


def _cmd_menus_diagram(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    for path in settings.menu_paths or default_menu_paths():
        if path.stem == args.name:
            print(mermaid(path), file=out)
            return 0
    print(f"no menu named {args.name!r}", file=sys.stderr)
    return 1


def add_commands(sub: Any) -> None:
    """``menus check [FILES…]`` and ``menus diagram NAME``."""
    menus = sub.add_parser("menus").add_subparsers(dest="what", required=True)
    check = menus.add_parser("check", help="validate menu files (file:line: problem)")
    check.add_argument("files", nargs="*")
    check.set_defaults(run=_cmd_menus_check)
    diagram = menus.add_parser("diagram", help="print a menu's Mermaid state diagram")
    diagram.add_argument("name")
    diagram.set_defaults(run=_cmd_menus_diagram)
