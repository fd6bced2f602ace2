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
    menus = sub.add_parser(
        "menus",
        help="check menu files, draw a menu",
        description="Work on the YAML menus.",
    ).add_subparsers(dest="what", required=True, metavar="check|diagram")
    check = menus.add_parser(
        "check",
        help="validate menu files (file:line: problem)",
        description="Check menu files as the gateway does at start-up: unknown targets or "
        "callbacks, unreachable states, dead ends, missing languages, screens over the USSD "
        "limit, reserved or duplicate keys. Prints file:line: problem; exit status 1 if any.",
    )
    check.add_argument("files", nargs="*", help="menu YAML files (default: the shipped menus)")
    check.set_defaults(run=_cmd_menus_check)
    diagram = menus.add_parser(
        "diagram",
        help="print a menu's Mermaid state diagram",
        description="Print the state diagram of the menu NAME (its file's name without "
        ".yaml) in Mermaid, as python-statemachine draws it.",
    )
    diagram.add_argument("name", help="the menu, e.g. access or password")
    diagram.set_defaults(run=_cmd_menus_diagram)
