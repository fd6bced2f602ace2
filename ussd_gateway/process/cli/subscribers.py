"""``subscribers``, ``access`` and ``puk``: the operator's work on subscribers."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any, TextIO

from account.operator import AccountService
from state.importer import read_subscriber_file
from state.models import Channel, ClosedBy
from state.store import Store
from ussd_gateway.app import resolve_pepper
from ussd_gateway.config import Settings
from ussd_gateway.process.cli.common import when, with_store


def _cmd_import(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    records = read_subscriber_file(Path(args.file), resolve_pepper(settings))

    async def work(store: Store) -> int:
        summary = await store.import_subscribers(records)
        print(
            f"imported {len(records)}: {summary.created} created, {summary.updated} updated",
            file=out,
        )
        return 0

    return asyncio.run(with_store(settings, work))


def _cmd_show(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    async def work(store: Store) -> int:
        sub = await AccountService(store).subscriber(args.msisdn)
        client = await store.get_client(sub.client_id)
        print(f"msisdn        {sub.msisdn}", file=out)
        print(f"client        {client.name if client else '?'} ({sub.client_kind})", file=out)
        print(f"language      {sub.lang}", file=out)
        state = "open" if sub.access_open else f"closed by {sub.closed_by} at {when(sub.closed_at)}"
        print(f"access        {state}", file=out)
        if sub.closed_reason:
            print(f"reason        {sub.closed_reason}", file=out)
        lock = f"locked at {when(sub.puk_locked_at)}" if sub.puk_locked else "not locked"
        print(f"puk1          {lock}, {sub.puk_failures} consecutive failures", file=out)
        pw = f"set {when(sub.password_changed_at)}" if sub.has_password else "not set"
        print(f"password      {pw}", file=out)
        for entry in await store.audit_log(msisdn=sub.msisdn, limit=10):
            print(
                f"  {when(entry.at)}  {entry.action:<16} by {entry.actor} via {entry.channel}",
                file=out,
            )
        return 0

    return asyncio.run(with_store(settings, work))


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

    return asyncio.run(with_store(settings, work))


def _cmd_unlock(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    async def work(store: Store) -> int:
        decision = await AccountService(store).unlock_puk(
            args.msisdn, actor="cli:operator", channel=Channel.CLI
        )
        print(f"{decision.subscriber.msisdn}: {decision.outcome}", file=out)
        return 0

    return asyncio.run(with_store(settings, work))


def add_commands(sub: Any) -> None:
    """``subscribers import|show``, ``access close|open``, ``puk unlock``."""
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
