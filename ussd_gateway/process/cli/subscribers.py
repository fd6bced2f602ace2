"""``subscribers``, ``access`` and ``puk``: the operator's work on subscribers.

Every one of them works on the configured store and never creates an empty one by
accident: ``show``, ``access`` and ``puk`` open an existing database only (a missing SQLite
file is an error naming where it was looked for). ``import`` is how a database gets its
subscribers, so it may create one, and then says so.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TextIO

from account.operator import AccountService
from state import backends
from state.errors import StoreUnavailable, SubscriberImportError
from state.importer import DELIMITERS, read_subscriber_file
from state.models import Channel, ClosedBy
from state.store import Store
from ussd_gateway.app import resolve_pepper
from ussd_gateway.config import Settings
from ussd_gateway.process.cli.common import when

POINT_AT_IT = "point at the gateway's database with --config FILE or USSD_GATEWAY_DATABASE=…"


async def _on_store(
    settings: Settings, work: Callable[[Store], Awaitable[int]], *, must_exist: bool = True
) -> int:
    """Run ``work`` on the configured store (an existing one unless ``must_exist`` is
    False), closed afterwards."""
    try:
        store = await backends.open_store(
            settings.store_location, pool_size=settings.pool_size, must_exist=must_exist
        )
    except StoreUnavailable as exc:
        raise StoreUnavailable(f"{exc}; {POINT_AT_IT}") from None
    try:
        return await work(store)
    finally:
        await store.close()


def _cmd_import(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    records = read_subscriber_file(Path(args.file), resolve_pepper(settings), args.delimiter)
    location = settings.store_location
    fresh = location.path is not None and not location.path.exists()

    async def work(store: Store) -> int:
        if fresh:
            print(f"created a new database at {location} (there was none)", file=out)
        try:
            summary = await store.import_subscribers(records, update_clients=args.update_clients)
        except SubscriberImportError as exc:  # a client's kind or name would change
            hint = "; give --update-clients to make such changes (each is audited)"
            raise SubscriberImportError(exc.where, exc.reason + hint) from None
        changed = f", {summary.clients_updated} clients changed" if args.update_clients else ""
        print(
            f"imported {len(records)} into {location}: {summary.created} created, "
            f"{summary.updated} updated{changed}",
            file=out,
        )
        return 0

    return asyncio.run(_on_store(settings, work, must_exist=False))


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

    return asyncio.run(_on_store(settings, work))


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

    return asyncio.run(_on_store(settings, work))


def _cmd_unlock(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    async def work(store: Store) -> int:
        decision = await AccountService(store).unlock_puk(
            args.msisdn, actor="cli:operator", channel=Channel.CLI
        )
        print(f"{decision.subscriber.msisdn}: {decision.outcome}", file=out)
        return 0

    return asyncio.run(_on_store(settings, work))


def _delimiter(text: str) -> str:
    value = DELIMITERS.get(text.lower(), text)
    if len(value) != 1:
        raise argparse.ArgumentTypeError("one character, or comma, semicolon, tab")
    return value


_MSISDN = "the subscriber's number, in any spelling (+375 29 123-45-67, 80291234567, …)"
_STORE = (
    "Works on the configured database (--config FILE or USSD_GATEWAY_DATABASE); an SQLite "
    "file that does not exist is an error, never a new empty database."
)


def add_commands(sub: Any) -> None:
    """``subscribers import|show``, ``access close|open``, ``puk unlock``."""
    subscribers = sub.add_parser(
        "subscribers",
        help="import subscribers, show one",
        description="Import subscribers from a file, or show one subscriber.",
    ).add_subparsers(dest="what", required=True, metavar="import|show")
    imp = subscribers.add_parser(
        "import",
        help="import a CSV or YAML file",
        description="Create or update subscribers and their clients from FILE (.csv or .yaml; "
        "columns msisdn, puk1, client_ref, client_kind, client_name, lang and the account "
        "columns: README, Administration). An unknown column, a bad value or a number given "
        "twice is an error naming its line, and nothing is imported. Access, passwords, "
        "PUK1 failures and locks are never changed. The database is created if there is "
        "none, and the output says so. Needs the PUK1 pepper (USSD_GATEWAY_PUK_PEPPER or "
        "store.pepper_file).",
    )
    imp.add_argument("file", help="the subscriber file: .csv (a header line first) or .yaml")
    imp.add_argument(
        "--delimiter",
        type=_delimiter,
        default=None,
        help="the CSV's field separator: comma, semicolon, tab or one character "
        "(default: detected among , ; and tab)",
    )
    imp.add_argument(
        "--update-clients",
        action="store_true",
        help="allow rows to change an existing client's kind or name (each change is "
        "audited); without it such a row is refused",
    )
    imp.set_defaults(run=_cmd_import)
    show = subscribers.add_parser(
        "show",
        help="show a subscriber (no secrets)",
        description="A subscriber's client, language, access, PUK1 lock and password state, "
        "and its last 10 audit entries; never a secret. " + _STORE,
    )
    show.add_argument("msisdn", help=_MSISDN)
    show.set_defaults(run=_cmd_show)

    access = sub.add_parser(
        "access",
        help="close or open access to the account",
        description="Close or open a subscriber's access to the self-service account, as the "
        "operator (or on behalf of the organisation or the subscriber); audited. A closure "
        "is lifted only by its own source or a higher one. " + _STORE,
    )
    access.add_argument("action", choices=["close", "open"], help="close or open access")
    access.add_argument("msisdn", help=_MSISDN)
    access.add_argument(
        "--by",
        choices=[c.value for c in ClosedBy],
        default="operator",
        help="on whose behalf (default: %(default)s)",
    )
    access.add_argument("--reason", default=None, help="why, kept with a closure and audited")
    access.set_defaults(run=_cmd_access)

    puk = sub.add_parser(
        "puk",
        help="lift a PUK1 lock",
        description="PUK1 administration.",
    ).add_subparsers(dest="what", required=True, metavar="unlock")
    unlock = puk.add_parser(
        "unlock",
        help="lift a PUK1 lock",
        description="Lift the lock five wrong PUK1s put on opening access, and reset the "
        "failure count; audited. " + _STORE,
    )
    unlock.add_argument("msisdn", help=_MSISDN)
    unlock.set_defaults(run=_cmd_unlock)
