"""``menus check`` and ``menus diagram``: the menus ``serve`` would load.

Both read the settings' ``[menus] paths`` as the gateway does (files and directories;
none: the shipped menus). ``menus check`` without files checks that configuration and the
SMS command file the gateway reads; with files, those files.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from sms.commands import shipped_commands_path
from ussd_gateway.config import Settings
from ussd_gateway.menus.check import check_menus, mermaid_of, run_check


def _cmd_menus_check(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    backends = frozenset(settings.backends)
    if args.files:
        return run_check([Path(f) for f in args.files], out, backends=backends)
    return run_check(
        list(settings.menu_paths), out, sms_commands=shipped_commands_path(), backends=backends
    )


def _cmd_menus_diagram(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    services = check_menus(
        list(settings.menu_paths), backends=frozenset(settings.backends)
    ).services
    for service in services:
        if args.name in (service.name, Path(service.source.file).stem):
            print(mermaid_of(service.source), file=out)
            return 0
    names = ", ".join(sorted(s.name for s in services)) or "none"
    print(f"no menu named {args.name!r}; the menus are: {names}", file=sys.stderr)
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
        help="validate menu files (file:line: problem); default: the configured menus",
        description="Check menu files as the gateway does at start-up: unknown targets or "
        "callbacks, unreachable states, dead ends, missing languages, screens over the USSD "
        "limit, reserved or duplicate keys and service codes, unknown placeholders, missing "
        "shared texts, guards that do not compile, values read but never set, calls to "
        "back-ends the configuration lacks; sms.yaml by the SMS commands' rules. Without "
        "FILES: the configured menus ([menus] paths) or the shipped ones. Prints "
        "file:line: problem; exit status 1 if any.",
    )
    check.add_argument("files", nargs="*", help="menu files or directories, sms.yaml too")
    check.set_defaults(run=_cmd_menus_check)
    diagram = menus.add_parser(
        "diagram",
        help="print a menu's Mermaid state diagram",
        description="Print the state diagram of the menu NAME in Mermaid, as "
        "python-statemachine draws it; an unknown name lists the menus there are.",
    )
    diagram.add_argument("name", help="a menu's name (its machine's name, else its file's)")
    diagram.set_defaults(run=_cmd_menus_diagram)
