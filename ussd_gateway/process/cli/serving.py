"""``serve`` and ``demo``: run the gateway (one process or several workers)."""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from aiohttp import web

from state.store import Store
from ussd_gateway.app import create_app, resolve_pepper
from ussd_gateway.config import Settings
from ussd_gateway.process import logs
from ussd_gateway.process.cli.common import with_store
from ussd_gateway.process.demo import demo_table, seed_demo
from ussd_gateway.process.memory import pin_mmap_threshold
from ussd_gateway.process.workers import serve_workers


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

    asyncio.run(with_store(demo, seed))
    base = f"http://{demo.host}:{demo.port}"
    print(f"USSD gateway (demo mode: no caller secrets) on {base}", file=out)
    print(f"database {demo.database}\n\nDemo subscribers:\n{demo_table()}\n", file=out)
    print("Dial from another terminal, for example:", file=out)
    print(f"  .venv/bin/ussd-handset --url {base} --msisdn 375291000001", file=out)
    print("  then type *141*3*6# or *141*0# at the dial> prompt", file=out)
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
    return _cmd_serve(demo, args, out)


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
    demo.set_defaults(run=_cmd_demo)
