"""``store copy``: every row into an empty store, verified."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any, TextIO

from state.backends import DatabaseLocation
from state.copy import copy_store
from ussd_gateway.config import Settings


def _cmd_store_copy(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    source = DatabaseLocation.parse(args.source)
    target = DatabaseLocation.parse(args.target, password=_password(args.target_password_file))
    counts = asyncio.run(copy_store(source, target))
    print(f"copied {source} → {target}", file=out)
    print(f"  {'table':<18} {'source':>9} {'target':>9}", file=out)
    for count in counts:
        print(f"  {count.table:<18} {count.source:>9} {count.target:>9}", file=out)
    print("verified: every table's rows are equal on both sides", file=out)
    return 0


def _password(path: Path | None) -> str | None:
    return path.read_text(encoding="utf-8").strip() if path is not None else None


def add_commands(sub: Any) -> None:
    """``store copy``."""
    store = sub.add_parser(
        "store",
        help="move a deployment between SQLite and PostgreSQL",
        description="Work on whole stores.",
    ).add_subparsers(dest="what", required=True, metavar="copy")
    copy = store.add_parser(
        "copy",
        help="copy every row into an empty store, verified (SQLite file ↔ PostgreSQL)",
        description="Copies clients, subscribers, credentials, sessions, codes, guards, the "
        "outbox, the audit and web sessions from SOURCE into the empty TARGET in one "
        "transaction, then compares both sides table by table. Each is a path (SQLite) or a "
        "postgresql:// URL. Stop the gateways first: rows written during the copy are not in it.",
    )
    copy.add_argument(
        "--from",
        dest="source",
        required=True,
        metavar="SOURCE",
        help="the store to copy: an existing SQLite file (or sqlite:///path) or a "
        "postgresql:// URL",
    )
    copy.add_argument(
        "--to",
        dest="target",
        required=True,
        metavar="TARGET",
        help="the empty store to fill: an SQLite path (created if missing) or a "
        "postgresql:// URL (an existing database)",
    )
    copy.add_argument(
        "--to-password-file",
        dest="target_password_file",
        type=Path,
        help="the target URL's password, read from this file (not on the command line)",
    )
    copy.set_defaults(run=_cmd_store_copy)
