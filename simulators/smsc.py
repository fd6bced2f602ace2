"""ussd-smsc: a fake SMSC that speaks Kannel's HTTP interfaces, for development and tests.

``ussd-smsc serve`` (the default) listens like Kannel's smsbox: ``GET`` (or ``POST``)
``/cgi-bin/sendsms`` with ``username``, ``password``, ``from``, ``to``, ``text``,
``charset`` (UTF-8 only here), ``coding``, ``dlr-mask`` and ``dlr-url``. It answers
``202 0: Accepted for delivery`` (403 on wrong credentials, 400 without ``to`` or with a
bad ``coding``), prints each MT with its encoding and segment count, appends it to the
``--record`` JSONL file, and, when ``dlr-mask`` has bit 1, calls the ``dlr-url`` with
``%d`` = 1 (delivered) after ``--dlr-delay`` seconds. ``GET /messages?to=MSISDN`` lists
what it received as JSON (the web handset's SMS inbox). Point the gateway's Kannel sender at
it: ``USSD_GATEWAY_SMS_SENDER=kannel``,
``USSD_GATEWAY_KANNEL_SENDSMS_URL=http://127.0.0.1:13013/cgi-bin/sendsms``,
``USSD_GATEWAY_KANNEL_USERNAME=tester``, ``USSD_GATEWAY_KANNEL_PASSWORD=testpw``.

``ussd-smsc mo --gateway URL --from MSISDN TEXT`` sends one MO to the gateway as Kannel's
``get-url`` would (``/sms/mo?from=…&to=…&text=…&token=…``) and prints the reply body,
which Kannel would send back to the subscriber as an SMS. The token comes from
``--token`` or ``$USSD_GATEWAY_SMS_MO_SECRET``.

This is a simulator: it prints and records message texts, one-time codes included. It
talks to the gateway over HTTP only and imports nothing of it.

Over 300 lines: a fake SMSC speaking Kannel's sendsms and get-url, its delivery reports
and the JSON-lines record testers read.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import sys
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

import aiohttp
from aiohttp import web

from simulators.process import stop_on_signals
from simulators.version import version
from sms.encoding import Encoding
from sms.segments import count_segments

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 13013
DEFAULT_USERNAME = "tester"
DEFAULT_PASSWORD = "testpw"  # noqa: S105 - the simulator's documented default
DEFAULT_DLR_DELAY = 0.5
MO_SECRET_ENV = "USSD_GATEWAY_SMS_MO_SECRET"  # noqa: S105 - the variable's name
ACCEPTED = "0: Accepted for delivery"
DLR_DELIVERED = 1
MO_TIMEOUT = 10.0
"""Seconds the gateway has to answer an MO (Kannel waits about as long)."""
EXIT_OK, EXIT_FAILED, EXIT_ERROR = 0, 1, 2


class FakeSmsc:
    """The sendsms side of a Kannel smsbox, in process: ``messages`` holds every MT."""

    def __init__(
        self,
        *,
        username: str = DEFAULT_USERNAME,
        password: str = DEFAULT_PASSWORD,
        record: Path | None = None,
        dlr_delay: float = DEFAULT_DLR_DELAY,
        out: TextIO | None = None,
    ) -> None:
        self.username = username
        self.password = password
        self.record = record
        self.dlr_delay = dlr_delay
        self.out = out
        self.messages: list[dict[str, Any]] = []
        self.dlr_results: list[tuple[int, int | str]] = []
        """(MT number, HTTP status of the DLR call or the error's class name)."""
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.url = ""

    def app(self) -> web.Application:
        """The aiohttp application (``/cgi-bin/sendsms``)."""
        app = web.Application()
        app.router.add_get("/cgi-bin/sendsms", self._sendsms)
        app.router.add_post("/cgi-bin/sendsms", self._sendsms)
        app.router.add_get("/messages", self._list_messages)
        return app

    async def start(self, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> str:
        """Listen on ``host:port`` (0: any free port); the base URL."""
        self._http = aiohttp.ClientSession()
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = self._runner.addresses[0]
        self.url = f"http://{bound[0]}:{bound[1]}"
        return self.url

    async def stop(self) -> None:
        """Stop listening; pending DLR calls are abandoned."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
        if self._http is not None:
            await self._http.close()

    async def _list_messages(self, request: web.Request) -> web.Response:
        """``GET /messages[?to=MSISDN]``: the MTs received, oldest first (the web handset's
        inbox). ``to`` matches by digits: ``+375 29 100-00-01`` finds ``375291000001``."""
        wanted = _digits(request.query.get("to", ""))
        chosen = [m for m in self.messages if not wanted or _digits(m["to"]) == wanted]
        return web.json_response({"messages": chosen})

    def _say(self, line: str) -> None:
        if self.out is not None:
            print(line, file=self.out, flush=True)

    async def _sendsms(self, request: web.Request) -> web.Response:
        fields: dict[str, str] = dict(request.query)
        if request.method == "POST":
            fields.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
        if fields.get("username") != self.username or fields.get("password") != self.password:
            return web.Response(status=403, text="Authorization failed for sendsms")
        if not fields.get("to"):
            return web.Response(status=400, text="Missing receiver number for SMS")
        coding = fields.get("coding", "0")
        if coding not in ("0", "1", "2"):
            return web.Response(status=400, text="Invalid character coding")
        charset = fields.get("charset", "UTF-8")
        if charset.upper().replace("_", "-") not in ("UTF-8", "UTF8"):
            return web.Response(status=400, text="Only charset=UTF-8 is simulated")
        text = fields.get("text", "")
        counted = count_segments(text)
        try:
            mask = int(fields.get("dlr-mask", "0"))
        except ValueError:
            return web.Response(status=400, text="Invalid dlr-mask")
        dlr_url = fields.get("dlr-url")
        entry: dict[str, Any] = {
            "n": len(self.messages) + 1,
            "at": time.time(),
            "from": fields.get("from", ""),
            "to": fields["to"],
            "text": text,
            "coding": int(coding),
            "encoding": str(counted.encoding),
            "segments": counted.segments,
            "dlr_mask": mask,
            "dlr": bool(dlr_url),
        }
        self.messages.append(entry)
        if self.record is not None:
            with self.record.open("a", encoding="utf-8") as out:
                out.write(json.dumps(entry, ensure_ascii=False) + "\n")
        mismatch = (counted.encoding is Encoding.UCS2) != (coding == "2")
        note = "  (!) coding does not match the text" if mismatch else ""
        self._say(
            f"MT #{entry['n']} to {entry['to']} from {entry['from']}"
            f" [{counted.encoding}, {counted.segments} SMS]: {text}{note}"
        )
        if dlr_url and mask & DLR_DELIVERED:
            task = asyncio.create_task(self._report(entry["n"], dlr_url, entry))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return web.Response(status=202, text=ACCEPTED)

    async def _report(self, n: int, dlr_url: str, entry: Mapping[str, Any]) -> None:
        await asyncio.sleep(self.dlr_delay)
        url = expand_dlr_url(dlr_url, DLR_DELIVERED, entry)
        assert self._http is not None
        try:
            async with self._http.get(url, timeout=aiohttp.ClientTimeout(total=10)) as response:
                result: int | str = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            result = type(exc).__name__
        self.dlr_results.append((n, result))
        self._say(f"DLR #{n} delivered → {result}")


def _digits(number: str) -> str:
    return "".join(c for c in number if c.isdigit())


def expand_dlr_url(url: str, dlr_type: int, entry: Mapping[str, Any]) -> str:
    """Kannel's escapes in a ``dlr-url`` that a simulator can fill: ``%d`` (report type),
    ``%p`` (receiver), ``%P`` (sender), ``%T`` (time), ``%%``."""
    values = {
        "d": str(dlr_type),
        "p": str(entry.get("to", "")),
        "P": str(entry.get("from", "")),
        "T": str(int(time.time())),
        "%": "%",
    }
    out: list[str] = []
    i = 0
    while i < len(url):
        if url[i] == "%" and i + 1 < len(url) and url[i + 1] in values:
            out.append(values[url[i + 1]])
            i += 2
        else:
            out.append(url[i])
            i += 1
    return "".join(out)


async def send_mo(
    http: aiohttp.ClientSession,
    gateway: str,
    *,
    sender: str,
    text: str,
    to: str = "141",
    token: str | None = None,
) -> tuple[int, str]:
    """Send one MO to ``gateway`` the way Kannel's ``get-url`` does; (status, reply body)."""
    counted = count_segments(text)
    params = {
        "from": sender,
        "to": to,
        "text": text,
        "smsc": "SIM",
        "id": str(uuid.uuid4()),
        "coding": "2" if counted.encoding is Encoding.UCS2 else "0",
        "charset": "UTF-8",
    }
    if token:
        params["token"] = token
    async with http.get(
        gateway.rstrip("/") + "/sms/mo",
        params=params,
        timeout=aiohttp.ClientTimeout(total=MO_TIMEOUT),
    ) as response:
        return response.status, await response.text()


# --- command line --------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ussd-smsc", description="A fake SMSC speaking Kannel's sendsms and get-url."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    commands = parser.add_subparsers(dest="command")
    serve = commands.add_parser("serve", help="listen for sendsms (the default)")
    serve.add_argument("--host", default=DEFAULT_HOST)
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help="0: any free port")
    serve.add_argument("--username", default=DEFAULT_USERNAME)
    serve.add_argument("--password", default=DEFAULT_PASSWORD)
    serve.add_argument("--record", type=Path, help="append every MT to this JSONL file")
    serve.add_argument(
        "--dlr-delay", type=float, default=DEFAULT_DLR_DELAY, help="seconds before a DLR"
    )
    mo = commands.add_parser("mo", help="send one MO to the gateway, print the reply")
    mo.add_argument("--gateway", required=True, help="the gateway's base URL")
    mo.add_argument("--from", dest="sender", required=True, help="the subscriber's number")
    mo.add_argument("--to", default="141", help="the short number (default: %(default)s)")
    mo.add_argument("--token", help=f"the gateway's MO secret (default: ${MO_SECRET_ENV})")
    mo.add_argument("text", nargs="+", help="the SMS text")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``ussd-smsc``; returns the exit code."""
    args_in = list(sys.argv[1:] if argv is None else argv)
    if not args_in or args_in[0] not in ("serve", "mo", "-h", "--help", "--version"):
        args_in.insert(0, "serve")
    try:
        args = _parser().parse_args(args_in)
    except SystemExit as exc:  # argparse exits on --help and on bad usage
        return exc.code if isinstance(exc.code, int) else EXIT_ERROR
    if isinstance(sys.stdout, io.TextIOWrapper):
        # A C-locale terminal must not crash on a Cyrillic text.
        sys.stdout.reconfigure(errors="backslashreplace")
    try:
        if args.command == "mo":
            return asyncio.run(_mo(args))
        return asyncio.run(_serve(args))
    except KeyboardInterrupt:
        return EXIT_OK


async def _serve(args: argparse.Namespace) -> int:
    if args.record is not None:
        args.record.parent.mkdir(parents=True, exist_ok=True)
    smsc = FakeSmsc(
        username=args.username,
        password=args.password,
        record=args.record,
        dlr_delay=args.dlr_delay,
        out=sys.stdout,
    )
    stop = stop_on_signals()
    try:
        url = await smsc.start(args.host, args.port)
    except OSError as exc:
        print(f"ussd-smsc: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        await smsc.stop()
        return EXIT_ERROR
    print(f"ussd-smsc: sendsms on {url}/cgi-bin/sendsms", flush=True)
    try:
        await stop.wait()
    finally:
        await smsc.stop()
    return EXIT_OK


async def _mo(args: argparse.Namespace) -> int:
    token = args.token if args.token is not None else os.environ.get(MO_SECRET_ENV) or None
    async with aiohttp.ClientSession() as http:
        try:
            status, body = await send_mo(
                http,
                args.gateway,
                sender=args.sender,
                text=" ".join(args.text),
                to=args.to,
                token=token,
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            print(f"ussd-smsc: cannot reach {args.gateway}: {type(exc).__name__}", file=sys.stderr)
            return EXIT_ERROR
    if status != 200:
        print(f"ussd-smsc: the gateway answered HTTP {status}", file=sys.stderr)
    print(body)
    return EXIT_OK if status == 200 else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
