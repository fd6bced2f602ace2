"""ussd-billing: a fake billing back-end for the ``*100#`` self-service menu, over HTTP/JSON.

Routes (every one but ``GET /healthz`` needs ``Authorization: Bearer <token>``)::

    GET  /subscribers/{msisdn}                          plan, status, balance, tariff, traffic
    GET  /subscribers/{msisdn}/services                 the catalogue, connected or not
    GET  /subscribers/{msisdn}/services/{service_id}    one service (with flat name_ru/name_en)
    POST /subscribers/{msisdn}/services/{service_id}    {"action": "connect"|"disconnect"}
                                                        + Idempotency-Key
    GET  /orders[?msisdn=…]                             every accepted order
    POST|DELETE /_faults                                fault switches, only with --faults

The rules of an order are in :mod:`simulators.billing_rules`, the live state in
:mod:`simulators.billing_ledger`, the demo data in ``billing_data.yaml``. An accepted
order stays ``pending`` until ``--effective-after`` seconds have passed (default 60: a
tester sees both the pending order and its effect within a demo; the operator's promise,
``effective_within_hours: 24``, is what the answer says either way). Every refusal is a
4xx JSON ``{"reason": …}``. ``--record FILE`` appends one JSON line per request (masked
msisdn, no token). This is a simulator: it talks to the gateway over HTTP only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from aiohttp import web

from simulators.billing_data import BillingData, BillingDataError, load_data
from simulators.billing_faults import Faults
from simulators.billing_ledger import Ledger
from simulators.billing_rules import mask_msisdn, valid_msisdn
from simulators.billing_wire import (
    MAX_BODY,
    Refusal,
    auth_middleware,
    faults_middleware,
    faults_routes,
    guard_middleware,
    read_action,
    read_key,
    reply,
)
from simulators.process import stop_on_signals
from simulators.version import version

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8090
DEFAULT_TOKEN = "demo-billing-token"  # noqa: S105 - the simulator's documented demo default
TOKEN_ENV = "USSD_BILLING_TOKEN"  # noqa: S105 - the variable's name
DEFAULT_EFFECTIVE_AFTER = 60.0
EXIT_OK, EXIT_ERROR = 0, 2


class BillingSimulator:
    """The billing back-end in process; ``ledger`` is its state, ``app()`` its routes."""

    def __init__(
        self,
        data: BillingData | None = None,
        *,
        token: str = DEFAULT_TOKEN,
        clock: Callable[[], float] = time.time,
        effective_after: float = DEFAULT_EFFECTIVE_AFTER,
        faults: bool = False,
        record: Path | None = None,
        out: TextIO | None = None,
    ) -> None:
        self.data = data if data is not None else load_data()
        self.ledger = Ledger(self.data, clock=clock, effective_after=effective_after)
        self.token = token
        self.faults_enabled = faults
        self.faults: Faults | None = None
        self.record = record
        self.out = out
        self._runner: web.AppRunner | None = None
        self.url = ""

    def app(self) -> web.Application:
        """The aiohttp application."""
        app = web.Application(
            client_max_size=MAX_BODY,
            middlewares=[
                guard_middleware(self.record),
                faults_middleware(lambda: self.faults),
                auth_middleware(self.token),
            ],
        )
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/subscribers/{msisdn}", self._subscriber)
        app.router.add_get("/subscribers/{msisdn}/services", self._services)
        app.router.add_get("/subscribers/{msisdn}/services/{service_id}", self._service)
        app.router.add_post("/subscribers/{msisdn}/services/{service_id}", self._order)
        app.router.add_get("/orders", self._orders)
        if self.faults_enabled:
            faults_routes(app, self._set_faults)
        return app

    async def start(self, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> str:
        """Listen on ``host:port`` (0: any free port); the base URL."""
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, host, port).start()
        except OSError:
            await self._runner.cleanup()
            raise
        bound = self._runner.addresses[0]
        self.url = f"http://{bound[0]}:{bound[1]}"
        return self.url

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()

    def _set_faults(self, faults: Faults | None) -> None:
        self.faults = faults

    # --- handlers ------------------------------------------------------------------------

    async def _healthz(self, request: web.Request) -> web.Response:
        return reply(200, {"status": "ok"})

    async def _subscriber(self, request: web.Request) -> web.Response:
        return reply(*self.ledger.subscriber(_msisdn(request)))

    async def _services(self, request: web.Request) -> web.Response:
        return reply(*self.ledger.services_of(_msisdn(request)))

    async def _service(self, request: web.Request) -> web.Response:
        msisdn = _msisdn(request)
        return reply(*self.ledger.service_of(msisdn, request.match_info["service_id"]))

    async def _order(self, request: web.Request) -> web.Response:
        msisdn = _msisdn(request)
        service_id = request.match_info["service_id"]
        key = read_key(request)
        action = await read_action(request)
        answer = self.ledger.remembered(key, (msisdn, service_id, action))
        if answer is None:
            answer = self.ledger.order(key, msisdn, service_id, action)
            status, body = answer
            if status == 200:
                self._say(
                    f"order {body['order']}: {action} {service_id} for {mask_msisdn(msisdn)}"
                    f" accepted, balance {body['balance']:.2f}"
                )
        return reply(*answer)

    def _say(self, line: str) -> None:
        if self.out is not None:
            print(line, file=self.out, flush=True)

    async def _orders(self, request: web.Request) -> web.Response:
        msisdn = request.query.get("msisdn")
        return reply(*self.ledger.orders_json(None if msisdn is None else _checked(msisdn)))


def _msisdn(request: web.Request) -> str:
    return _checked(request.match_info["msisdn"])


def _checked(msisdn: str) -> str:
    """``msisdn`` if it is 9-15 digits; else a 400 refusal."""
    if not valid_msisdn(msisdn):
        raise Refusal(400, "bad_request", "msisdn: 9-15 digits")
    return msisdn


# --- command line --------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ussd-billing",
        description="A fake billing back-end (balance, tariff, services) over HTTP/JSON.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    commands = parser.add_subparsers(dest="command")
    serve = commands.add_parser("serve", help="listen (the default)")
    serve.add_argument("--host", default=DEFAULT_HOST)
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help="0: any free port")
    serve.add_argument("--data", type=Path, help="subscribers and services (default: the demo)")
    serve.add_argument(
        "--token-file",
        type=Path,
        help=f"the Bearer token (default: ${TOKEN_ENV}, else the demo's {DEFAULT_TOKEN!r})",
    )
    serve.add_argument("--record", type=Path, help="append one JSON line per request here")
    serve.add_argument(
        "--faults",
        action="store_true",
        help="enable POST/DELETE /_faults, the test fault switches (off by default)",
    )
    serve.add_argument(
        "--effective-after",
        type=float,
        default=DEFAULT_EFFECTIVE_AFTER,
        metavar="SECONDS",
        help="an accepted order takes effect this long after; default %(default).0f, so a demo"
        " shows the pending order and then its effect (the operator's 24 h is 86400)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``ussd-billing``; returns the exit code."""
    args_in = list(sys.argv[1:] if argv is None else argv)
    if not args_in or args_in[0] not in ("serve", "-h", "--help", "--version"):
        args_in.insert(0, "serve")
    try:
        args = _parser().parse_args(args_in)
    except SystemExit as exc:  # argparse exits on --help and on bad usage
        return exc.code if isinstance(exc.code, int) else EXIT_ERROR
    try:
        return asyncio.run(_serve(args))
    except KeyboardInterrupt:
        return EXIT_OK


def _token(args: argparse.Namespace) -> tuple[str, str]:
    if args.token_file is not None:
        token = args.token_file.read_text(encoding="utf-8").strip()
        if not token:
            raise ValueError(f"{args.token_file} is empty")
        return token, "--token-file"
    if os.environ.get(TOKEN_ENV):
        return os.environ[TOKEN_ENV], f"${TOKEN_ENV}"
    return DEFAULT_TOKEN, "the demo default"


async def _serve(args: argparse.Namespace) -> int:
    if args.effective_after < 0:
        print("ussd-billing: --effective-after must be 0 or more", file=sys.stderr)
        return EXIT_ERROR
    try:
        data = load_data(args.data)
        token, token_source = _token(args)
    except (BillingDataError, OSError, UnicodeDecodeError, ValueError) as exc:
        print(f"ussd-billing: {exc}", file=sys.stderr)
        return EXIT_ERROR
    if args.record is not None:
        args.record.parent.mkdir(parents=True, exist_ok=True)
    billing = BillingSimulator(
        data,
        token=token,
        effective_after=args.effective_after,
        faults=args.faults,
        record=args.record,
        out=sys.stdout,
    )
    stop = stop_on_signals()
    try:
        url = await billing.start(args.host, args.port)
    except OSError as exc:
        print(f"ussd-billing: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    print(
        f"ussd-billing: listening on {url} ({len(data.subscribers)} subscribers,"
        f" {len(data.services)} services, orders effective after {args.effective_after:g} s,"
        f" faults {'on' if args.faults else 'off'}, token from {token_source})",
        flush=True,
    )
    try:
        await stop.wait()
    finally:
        await billing.stop()
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
