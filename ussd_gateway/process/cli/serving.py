"""``serve`` and ``demo``: run the gateway (one process or several workers).

Start: the address is bound before the app starts (a taken port or a wrong host is one
line on stderr and exit status 2, the store untouched); each serving process then logs one
``gateway_started`` line (version, address, store, menus, workers, pid), and with
``--workers N`` the supervisor one of its own. Reload: ``SIGHUP`` (``process/reload.py``).
Stop: ``SIGTERM`` or ``SIGINT`` drains once and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import sys
from collections.abc import Callable
from dataclasses import replace
from importlib import metadata
from pathlib import Path
from typing import Any, TextIO

import structlog
from aiohttp import web

from state.store import Store
from ussd_gateway.app import create_app, load_menus, resolve_pepper
from ussd_gateway.config import Settings
from ussd_gateway.menus.loader import MenuCatalog
from ussd_gateway.process import logs
from ussd_gateway.process.cli.common import with_store
from ussd_gateway.process.connections import serve
from ussd_gateway.process.demo import SELF_SERVICE_TRIES, demo_table, seed_demo, with_billing
from ussd_gateway.process.listen import ListenError, address_of, listen
from ussd_gateway.process.memory import pin_mmap_threshold
from ussd_gateway.process.reload import note_hangups, reload_on_hangup
from ussd_gateway.process.workers import serve_workers

log = structlog.get_logger("ussd_gateway.process")

_Announce = Callable[[list[str] | None], None]
"""Logs a process's start-up line, given the addresses it listens on."""


class _Started:
    """What every start-up line says, and the line of one kind of process."""

    def __init__(self, settings: Settings, catalog: MenuCatalog, workers: int) -> None:
        self._fields: dict[str, Any] = {
            "version": _version(),
            "store": str(settings.store_location),  # a PostgreSQL URL's password masked
            "menus": sorted(menu.code for menu in catalog.menus.values()),
            "workers": workers,
        }
        self._configured = [f"{settings.host}:{settings.port}"]

    def line(self, role: str) -> _Announce:
        """``role``: ``server`` (the only process), ``supervisor`` or ``worker``."""

        def announce(listening: list[str] | None = None) -> None:
            log.info(
                "gateway_started",
                role=role,
                listen=listening or self._configured,
                **self._fields,
                pid=os.getpid(),
            )

        return announce


def _version() -> str:
    try:
        return metadata.version("ussd-gateway")
    except metadata.PackageNotFoundError:  # run from a tree that was never installed
        return "unknown"


def _cmd_serve(
    settings: Settings,
    args: argparse.Namespace,
    out: TextIO,
    *,
    banner: Callable[[], None] | None = None,
) -> int:
    note_hangups()  # a SIGHUP while starting is a reload once serving, not an exit
    logs.configure(settings.log_level)
    workers = getattr(args, "workers", 1)
    if workers < 1:
        raise ValueError("--workers must be at least 1")
    if workers > 1 and settings.osmocom.enabled:
        # OsmoHLR routes to one peer per EUSE name: N workers would be N links under it.
        raise ValueError("[osmocom] enabled takes one process: serve without --workers")
    pin_mmap_threshold()  # argon2's 19 MiB blocks go back to the system (memory.py)
    # Built once, before any fork: menus and the pepper are checked here (a clear error, not
    # one traceback per worker), and the workers share the loaded catalogue's pages.
    catalog = load_menus(settings)
    app = create_app(settings, catalog=catalog)
    reload_on_hangup(app)
    started = _Started(settings, catalog, workers)
    if workers == 1:
        _run(app, listen(settings.host, settings.port), started.line("server"), banner)
        return 0
    # The workers bind with SO_REUSEPORT; the address is tried first without it, so a
    # taken port (even by another gateway's workers) or a wrong host is one line here.
    for sock in listen(settings.host, settings.port):
        sock.close()
    started.line("supervisor")(None)
    if banner is not None:
        banner()
    return serve_workers(workers, lambda: _serve_worker(app, settings, started.line("worker")))


def _serve_worker(app: web.Application, settings: Settings, announce: _Announce) -> None:
    try:
        sockets = listen(settings.host, settings.port, reuse_port=True)
    except ListenError as exc:  # taken since the supervisor tried it
        print(f"ussd-gateway: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None
    _run(app, sockets, announce, None)


def _run(
    app: web.Application,
    sockets: list[socket.socket],
    announce: _Announce,
    banner: Callable[[], None] | None,
) -> None:
    """Serve ``app`` on ``sockets`` (bound and listening) until SIGTERM or SIGINT.

    One stop, one drain: aiohttp's own handler raises on every signal, and a second raise
    cuts its shutdown short (exit 1), as one during start-up cuts that short (the store
    half open). Ours waits for start-up to finish, and after the first stop ignores the
    next: Ctrl-C reaches a worker from the terminal and again from the supervisor.
    """
    ready = stopping_now = asked_while_starting = False

    def stop() -> None:
        nonlocal stopping_now, asked_while_starting
        if not ready:
            asked_while_starting = True
        elif stopping_now:
            log.info("gateway_already_stopping", pid=os.getpid())
        else:
            stopping_now = True
            raise web.GracefulExit

    async def starting(_: web.Application) -> None:  # the first start-up hook
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop)

    async def started(_: web.Application) -> None:  # the last: the store is open
        nonlocal ready
        ready = True
        announce([address_of(sock) for sock in sockets])
        if banner is not None:
            banner()
        if asked_while_starting:
            asyncio.get_running_loop().call_soon(stop)

    async def stopping(_: web.Application) -> None:
        log.info("gateway_stopping", pid=os.getpid())

    app.on_startup.insert(0, starting)
    app.on_startup.append(started)
    app.on_shutdown.append(stopping)
    serve(app, sockets)


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
    if args.billing:
        demo = with_billing(demo, args.billing)
    pepper = resolve_pepper(demo)

    async def seed(store: Store) -> int:
        await seed_demo(store, pepper)
        return 0

    asyncio.run(with_store(demo, seed))
    # Shown once the port is ours and the store open: a taken port is one line, no banner.
    return _cmd_serve(demo, args, out, banner=lambda: _demo_banner(demo, out))


def _demo_banner(demo: Settings, out: TextIO) -> None:
    base = f"http://{demo.host}:{demo.port}"
    print(f"USSD gateway (demo mode: no caller secrets) on {base}", file=out)
    print(f"database {demo.database}\n\nDemo subscribers:\n{demo_table()}\n", file=out)
    print("Dial from another terminal, for example:", file=out)
    print(f"  .venv/bin/ussd-handset --url {base} --msisdn 375291000001", file=out)
    print("  then type *141*3*6# or *141*0# at the dial> prompt", file=out)
    if "billing" in demo.backends:
        print(
            f"  *100#: balance and services from the billing ({demo.backends['billing'].url}):",
            file=out,
        )
        for msisdn, what in SELF_SERVICE_TRIES:
            print(f"    {msisdn}  {what}", file=out)
        scripts = "simulators/scripts/selfservice"
        print(
            f"  or: .venv/bin/ussd-handset --url {base} --script {scripts}/connect.yaml", file=out
        )
    print(
        "Admin commands on this database (subscribers show|import, access, puk unlock):\n"
        f"  USSD_GATEWAY_DATABASE={demo.database} USSD_GATEWAY_PUK_PEPPER_FILE="
        f"{demo.pepper_file} .venv/bin/ussd-gateway subscribers show 375291000001",
        file=out,
    )
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


def add_commands(sub: Any) -> None:
    """``serve`` and ``demo``."""
    serve = sub.add_parser(
        "serve",
        help="run the gateway",
        description="Run the gateway with the configured settings (--config FILE, "
        "USSD_GATEWAY_CONFIG and USSD_GATEWAY_* variables): it opens (creating and migrating "
        "if needed) the configured database, checks the menus and the PUK1 pepper, and serves "
        "the USSD, SMS and account routes on server.host:server.port.",
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes serving the port together (SO_REUSEPORT), e.g. one per core",
    )
    serve.set_defaults(run=_cmd_serve)
    demo = sub.add_parser(
        "demo",
        help="run the gateway with demo subscribers, no caller secrets",
        description="Run the gateway in demo mode: a database and a PUK1 pepper of its own "
        "in DATA_DIR (created, and seeded with the demo subscribers once), no caller "
        "secrets. The subscribers to try are printed before it starts. Not for production.",
    )
    demo.add_argument(
        "--data-dir",
        default="var/demo",
        help="where the demo database and its pepper live (default: %(default)s)",
    )
    demo.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    demo.add_argument(
        "--port", type=int, default=8080, help="port to listen on (default: %(default)s)"
    )
    demo.add_argument(
        "--billing",
        metavar="URL",
        help="a billing simulator (ussd-billing serve) as back-end 'billing': adds the "
        "worked self-service menu *100# (menus/examples/selfservice.yaml)",
    )
    demo.set_defaults(run=_cmd_demo)
