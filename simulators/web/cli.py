"""``ussd-handset web``: start the web handset next to a gateway.

The dialect secrets come from the environment the gateway itself reads
(``USSD_GATEWAY_SECRET_NATIVE``, ``…_AFRICASTALKING``, ``…_HUBTEL``; ``USSD_GATEWAY_SECRET``
for any dialect without its own), never from the command line, which ``ps`` shows.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from aiohttp import web

from simulators.dialects import Dialect
from simulators.handset import DEFAULT_TIMEOUT, DEFAULT_URL, EXIT_ERROR, EXIT_OK, SECRET_ENV
from simulators.process import stop_on_signals
from simulators.web.app import create_app
from simulators.web.config import WebConfig
from simulators.web.phones import GatewayLink

DEFAULT_PORT = 8081
DEFAULT_SCRIPTS = Path("var/scripts")


def dialect_secrets(environ: Mapping[str, str]) -> dict[str, str]:
    """Each dialect's caller secret from ``environ`` (dialects without one are left out)."""
    fallback = environ.get(SECRET_ENV, "")
    found = {}
    for dialect in Dialect:
        value = environ.get(f"{SECRET_ENV}_{dialect.value.upper()}", "") or fallback
        if value:
            found[dialect.value] = value
    return found


def parser() -> argparse.ArgumentParser:
    web_parser = argparse.ArgumentParser(
        prog="ussd-handset web",
        description="A handset in the browser: the phone, the session timeline, the SMS "
        "inbox, the mailbox, record and replay. Dialect secrets come from $"
        f"{SECRET_ENV}_NATIVE, _AFRICASTALKING, _HUBTEL (or ${SECRET_ENV}).",
    )
    web_parser.add_argument("--host", default="127.0.0.1", help="listen here (%(default)s)")
    web_parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="(%(default)s)")
    web_parser.add_argument("--gateway", default=DEFAULT_URL, help="gateway URL (%(default)s)")
    web_parser.add_argument("--smsc", help="ussd-smsc's URL, for the SMS inbox")
    web_parser.add_argument("--mailbox", help="ussd-mailbox's HTTP URL, for the letters")
    web_parser.add_argument(
        "--scripts-dir",
        type=Path,
        default=DEFAULT_SCRIPTS,
        help="where recorded scripts are saved (%(default)s)",
    )
    web_parser.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds per request"
    )
    return web_parser


def main(argv: list[str]) -> int:
    """Run the web handset until SIGINT or SIGTERM; returns the exit code."""
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help and on bad usage
        return exc.code if isinstance(exc.code, int) else EXIT_ERROR
    if args.timeout <= 0:
        print("ussd-handset web: error: --timeout must be positive", file=sys.stderr)
        return EXIT_ERROR
    config = WebConfig(
        gateway=GatewayLink(args.gateway.rstrip("/"), dialect_secrets(os.environ), args.timeout),
        scripts_dir=args.scripts_dir,
        smsc_url=args.smsc,
        mailbox_url=args.mailbox,
    )
    try:
        return asyncio.run(_serve(config, args.host, args.port))
    except KeyboardInterrupt:
        return EXIT_OK


async def _serve(config: WebConfig, host: str, port: int) -> int:
    runner = web.AppRunner(create_app(config), access_log=None)
    await runner.setup()
    stop = stop_on_signals()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        print(f"ussd-handset web: cannot listen on {host}:{port}: {exc}", file=sys.stderr)
        await runner.cleanup()
        return EXIT_ERROR
    bound_host, bound_port = runner.addresses[0][:2]
    print(
        f"Web handset on http://{bound_host}:{bound_port}/ (gateway {config.gateway.url})",
        flush=True,
    )
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
    return EXIT_OK
