"""``ussd-gateway``: run the service, run the demo, and administer subscribers and menus.

ussd-gateway serve [--config FILE] [--workers N]
ussd-gateway demo [--data-dir DIR] [--host H] [--port P]
ussd-gateway subscribers import FILE
ussd-gateway subscribers show MSISDN
ussd-gateway access close|open MSISDN --by operator|organisation [--reason TEXT]
ussd-gateway puk unlock MSISDN
ussd-gateway menus check [FILES...]
ussd-gateway menus diagram NAME

Over 300 lines: one argparse tree and one short function per sub-command (serve,
demo, menus, subscribers, access, store).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from aiohttp import web

from account.operator import AccountService
from state.backends import DatabaseLocation
from state.copy import copy_store
from state.errors import CoreError
from state.importer import read_subscriber_file
from state.models import Channel, ClosedBy
from state.store import Store
from ussd_gateway.app import create_app, open_store, resolve_pepper
from ussd_gateway.config import ConfigError, Settings
from ussd_gateway.errors import MenuDefinitionError
from ussd_gateway.menus.check import default_menu_paths, mermaid, run_check
from ussd_gateway.menus.source import MenuSyntaxError
from ussd_gateway.process import logs
from ussd_gateway.process.demo import demo_table, seed_demo
from ussd_gateway.process.memory import pin_mmap_threshold
from ussd_gateway.process.workers import serve_workers


def _when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds") if ts else "-"


async def _with_store(settings: Settings, work: Callable[[Store], Awaitable[int]]) -> int:
    store = await open_store(settings)
    try:
        return await work(store)
    finally:
        await store.close()


def _cmd_serve(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    logs.configure(settings.log_level)
    workers = getattr(args, "workers", 1)
    if workers < 1:
        raise ValueError("--workers must be at least 1")
    pin_mmap_threshold()  # argon2's 19 MiB blocks go back to the system (memory.py)
    # Built once, before any fork: menus and the pepper are checked here (a clear error, not
    # one traceback per worker), and the workers share the loaded catalogue's pages.
    app = create_app(settings)
    if workers == 1:
        _run(app, settings, reuse_port=False)
        return 0
    return serve_workers(workers, lambda: _run(app, settings, reuse_port=True))


def _run(app: web.Application, settings: Settings, *, reuse_port: bool) -> None:
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        access_log=None,
        shutdown_timeout=10,
        print=lambda *_: None,
        reuse_port=reuse_port or None,
    )


def _cmd_demo(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    data_dir = Path(args.data_dir)
    # Everything else (the SMS sender, sessions, logging) comes from the configuration.
    demo = replace(
        settings,
        host=args.host,
        port=args.port,
        database=data_dir / "gateway.sqlite3",
        pepper_file=data_dir / "puk-pepper",
        puk_pepper=None,
        demo=True,
    )
    pepper = resolve_pepper(demo)

    async def seed(store: Store) -> int:
        await seed_demo(store, pepper)
        return 0

    asyncio.run(_with_store(demo, seed))
    base = f"http://{demo.host}:{demo.port}"
    print(f"USSD gateway (demo mode: no caller secrets) on {base}", file=out)
    print(f"database {demo.database}\n\nDemo subscribers:\n{demo_table()}\n", file=out)
    print("Dial from another terminal, for example:", file=out)
    print(f"  .venv/bin/ussd-handset --url {base} --msisdn 375291000001", file=out)
    print("  then type *141*3*6# or *141*0# at the dial> prompt", file=out)
    print("Ask for a one-time code by SMS, or as the account's front end would:", file=out)
    print(f"  .venv/bin/ussd-smsc mo --gateway {base} --from 375291000001 KOD", file=out)
    body = '{"msisdn": "375291000001", "purpose": "login"}'
    print(f"  curl -s {base}/api/v1/codes -d '{body}'", file=out)
    where = (
        "appear in the ussd-smsc output above"
        if demo.sms.sender == "kannel"
        else f"are written to {demo.sms.outbox_file}"
    )
    print(f"SMS sent to subscribers {where}.\n", file=out, flush=True)
    return _cmd_serve(demo, args, out)


def _cmd_import(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    records = read_subscriber_file(Path(args.file), resolve_pepper(settings))

    async def work(store: Store) -> int:
        summary = await store.import_subscribers(records)
        print(
            f"imported {len(records)}: {summary.created} created, {summary.updated} updated",
            file=out,
        )
        return 0

    return asyncio.run(_with_store(settings, work))


def _cmd_show(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    async def work(store: Store) -> int:
        sub = await AccountService(store).subscriber(args.msisdn)
        client = await store.get_client(sub.client_id)
        print(f"msisdn        {sub.msisdn}", file=out)
        print(f"client        {client.name if client else '?'} ({sub.client_kind})", file=out)
        print(f"language      {sub.lang}", file=out)
        state = (
            "open" if sub.access_open else f"closed by {sub.closed_by} at {_when(sub.closed_at)}"
        )
        print(f"access        {state}", file=out)
        if sub.closed_reason:
            print(f"reason        {sub.closed_reason}", file=out)
        lock = f"locked at {_when(sub.puk_locked_at)}" if sub.puk_locked else "not locked"
        print(f"puk1          {lock}, {sub.puk_failures} consecutive failures", file=out)
        pw = f"set {_when(sub.password_changed_at)}" if sub.has_password else "not set"
        print(f"password      {pw}", file=out)
        for entry in await store.audit_log(msisdn=sub.msisdn, limit=10):
            print(
                f"  {_when(entry.at)}  {entry.action:<16} by {entry.actor} via {entry.channel}",
                file=out,
            )
        return 0

    return asyncio.run(_with_store(settings, work))


def _cmd_access(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    by = ClosedBy(args.by)

    async def work(store: Store) -> int:
        service = AccountService(store)
        change = service.close_access if args.action == "close" else service.open_access
        decision = await change(
            args.msisdn, by=by, actor=f"cli:{by}", channel=Channel.CLI, reason=args.reason
        )
        print(f"{decision.subscriber.msisdn}: {decision.outcome}", file=out)
        return (
            0 if decision.outcome in ("closed", "opened", "already_closed", "already_open") else 1
        )

    return asyncio.run(_with_store(settings, work))


def _cmd_unlock(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    async def work(store: Store) -> int:
        decision = await AccountService(store).unlock_puk(
            args.msisdn, actor="cli:operator", channel=Channel.CLI
        )
        print(f"{decision.subscriber.msisdn}: {decision.outcome}", file=out)
        return 0

    return asyncio.run(_with_store(settings, work))


def _cmd_menus_check(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    return run_check(args.files, out)


def _cmd_menus_diagram(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    for path in settings.menu_paths or default_menu_paths():
        if path.stem == args.name:
            print(mermaid(path), file=out)
            return 0
    print(f"no menu named {args.name!r}", file=sys.stderr)
    return 1


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


def build_parser() -> argparse.ArgumentParser:
    """The command-line grammar."""
    parser = argparse.ArgumentParser(
        prog="ussd-gateway",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--config", type=Path, help="TOML settings file (else $USSD_GATEWAY_CONFIG)"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the gateway")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes serving the port together (SO_REUSEPORT), e.g. one per core",
    )
    serve.set_defaults(run=_cmd_serve)
    demo = sub.add_parser("demo", help="run the gateway with demo subscribers, no caller secrets")
    demo.add_argument("--data-dir", default="var/demo")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8080)
    demo.set_defaults(run=_cmd_demo)

    subscribers = sub.add_parser("subscribers").add_subparsers(dest="what", required=True)
    imp = subscribers.add_parser("import", help="import a CSV or YAML file")
    imp.add_argument("file")
    imp.set_defaults(run=_cmd_import)
    show = subscribers.add_parser("show", help="show a subscriber (no secrets)")
    show.add_argument("msisdn")
    show.set_defaults(run=_cmd_show)

    access = sub.add_parser("access", help="close or open access to the account")
    access.add_argument("action", choices=["close", "open"])
    access.add_argument("msisdn")
    access.add_argument("--by", choices=[c.value for c in ClosedBy], default="operator")
    access.add_argument("--reason", default=None)
    access.set_defaults(run=_cmd_access)

    puk = sub.add_parser("puk").add_subparsers(dest="what", required=True)
    unlock = puk.add_parser("unlock", help="lift a PUK1 lock")
    unlock.add_argument("msisdn")
    unlock.set_defaults(run=_cmd_unlock)

    store = sub.add_parser("store").add_subparsers(dest="what", required=True)
    copy = store.add_parser(
        "copy",
        help="copy every row into an empty store, verified (SQLite file ↔ PostgreSQL)",
        description="Copies clients, subscribers, credentials, sessions, codes, guards, the "
        "outbox, the audit and web sessions from SOURCE into the empty TARGET in one "
        "transaction, then compares both sides table by table. Each is a path (SQLite) or a "
        "postgresql:// URL. Stop the gateways first: rows written during the copy are not in it.",
    )
    copy.add_argument("--from", dest="source", required=True, metavar="SOURCE")
    copy.add_argument("--to", dest="target", required=True, metavar="TARGET")
    copy.add_argument(
        "--to-password-file",
        dest="target_password_file",
        type=Path,
        help="the target URL's password, read from this file (not on the command line)",
    )
    copy.set_defaults(run=_cmd_store_copy)

    menus = sub.add_parser("menus").add_subparsers(dest="what", required=True)
    check = menus.add_parser("check", help="validate menu files (file:line: problem)")
    check.add_argument("files", nargs="*")
    check.set_defaults(run=_cmd_menus_check)
    diagram = menus.add_parser("diagram", help="print a menu's Mermaid state diagram")
    diagram.add_argument("name")
    diagram.set_defaults(run=_cmd_menus_diagram)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Entry point; returns the process exit status."""
    args = build_parser().parse_args(argv)
    out = out or sys.stdout
    try:
        settings = Settings.load(args.config, os.environ)
        return int(args.run(settings, args, out))
    except (ConfigError, MenuDefinitionError, MenuSyntaxError, CoreError, ValueError) as exc:
        # Clear one-line errors for operators; StoreError messages never carry secrets.
        print(f"ussd-gateway: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
