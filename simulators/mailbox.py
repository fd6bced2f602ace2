"""A development mailbox: an SMTP server on loopback that prints each letter decoded, and
lists the letters over HTTP for the web handset.

``make run`` starts ``ussd-mailbox --smtp-port 8025 --http-port 8026``: a newcomer reads the
temporary-password letters in plain text (aiosmtpd's own debugging handler prints them
base64-encoded), and the web handset's mailbox panel reads ``GET /letters``. Without
``--http-port`` it only prints, as ``python -m aiosmtpd -c simulators.mailbox.PrintLetters``
did. This is a simulator: it prints and lists what it is sent, temporary passwords included.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import sys
import time
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any

from aiohttp import web

from simulators.process import stop_on_signals

DEFAULT_HOST = "127.0.0.1"
DEFAULT_SMTP_PORT = 8025
KEPT_LETTERS = 500
"""Letters the HTTP list keeps, newest last: a long demo does not grow without bound."""


class PrintLetters:
    """Print every letter received: From, To, Subject and the text, decoded."""

    # The name is aiosmtpd's hook.
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        letter = message_from_bytes(envelope.original_content or envelope.content, policy=default)
        print(render(letter), flush=True, file=sys.stdout)
        self.received(letter)
        return "250 OK"

    def received(self, letter: Any) -> None:
        """A letter was printed (a subclass keeps it)."""


class KeepLetters(PrintLetters):
    """Print every letter and keep the latest :data:`KEPT_LETTERS` for ``GET /letters``."""

    def __init__(self) -> None:
        self.letters: list[dict[str, Any]] = []
        self._count = 0

    def received(self, letter: Any) -> None:
        self._count += 1
        self.letters.append(
            {
                "n": self._count,
                "at": time.time(),
                "from": str(letter["From"] or ""),
                "to": str(letter["To"] or ""),
                "subject": str(letter["Subject"] or ""),
                "text": _text(letter),
            }
        )
        del self.letters[:-KEPT_LETTERS]

    def app(self) -> web.Application:
        """``GET /letters``: the letters kept, oldest first, as JSON."""
        app = web.Application()

        async def letters(request: web.Request) -> web.Response:
            return web.json_response({"letters": self.letters})

        app.router.add_get("/letters", letters)
        return app


def _text(letter: Any) -> str:
    body = letter.get_body(preferencelist=("plain",)) if isinstance(letter, EmailMessage) else None
    text = body.get_content() if body is not None else letter.get_payload()
    return str(text).rstrip()


def render(letter: Any) -> str:
    """A letter as the console shows it."""
    return (
        f"--- e-mail from {letter['From']} to {letter['To']}\n"
        f"Subject: {letter['Subject']}\n\n{_text(letter)}\n---"
    )


# --- command line --------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ussd-mailbox", description="A loopback SMTP server that prints and lists letters."
    )
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--smtp-port", type=int, default=DEFAULT_SMTP_PORT)
    parser.add_argument("--http-port", type=int, help="serve GET /letters here (0: any port)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``ussd-mailbox``; returns the exit code."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help and on bad usage
        return exc.code if isinstance(exc.code, int) else 2
    if isinstance(sys.stdout, io.TextIOWrapper):
        # A C-locale terminal must not crash on a Cyrillic letter.
        sys.stdout.reconfigure(errors="backslashreplace")
    try:
        return asyncio.run(_serve(args))
    except KeyboardInterrupt:
        return 0


async def _serve(args: argparse.Namespace) -> int:
    # aiosmtpd is a development tool (the test extra, and `make run`), not a runtime need.
    from aiosmtpd.smtp import SMTP

    mailbox = KeepLetters()
    loop = asyncio.get_running_loop()
    runner: web.AppRunner | None = None
    stop = stop_on_signals()
    try:
        smtp = await loop.create_server(lambda: SMTP(mailbox), args.host, args.smtp_port)
        where = f"SMTP on {args.host}:{args.smtp_port}"
        if args.http_port is not None:
            runner = web.AppRunner(mailbox.app(), access_log=None)
            await runner.setup()
            await web.TCPSite(runner, args.host, args.http_port).start()
            host, port = runner.addresses[0][:2]
            where += f", letters on http://{host}:{port}/letters"
    except OSError as exc:
        print(f"ussd-mailbox: cannot listen: {exc}", file=sys.stderr)
        if runner is not None:
            await runner.cleanup()
        return 2
    print(f"ussd-mailbox: {where}", flush=True)
    try:
        await stop.wait()
    finally:
        smtp.close()
        if runner is not None:
            await runner.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
