"""ussd-handset: the operator's USSD centre plus a handset, as a pure HTTP client of the gateway.

Interactive mode shows screens as a phone would; ``--script`` runs a YAML scenario for CI and
``run_script`` runs one in-process for the gateway's end-to-end tests; ``ussd-handset web``
starts the web handset (``simulators/web/``). Exit codes: 0 pass,
1 mismatch (a screen not as expected or over the USSD limit), 2 usage, script, protocol or
connection error.

Over 300 lines: the interactive terminal handset and the script runner share one
session model, one screen printer and one masking of secrets (``--trace`` and the web
timeline); the script format and its checks are ``scenario.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import parse_qsl

import aiohttp

from simulators.dialects import (
    Dialect,
    HandsetState,
    HttpRequest,
    Op,
    Reply,
    Screen,
    SimulatorError,
    check_abort_reply,
    codec_for,
    new_session,
)
from simulators.scenario import (
    Mismatch,
    ScriptError,
    ScriptSource,
    Step,
    load_script,
    run_step,
)
from simulators.version import version

DEFAULT_URL = "http://127.0.0.1:8080"
DEFAULT_TIMEOUT = 10.0
SECRET_ENV = "USSD_GATEWAY_SECRET"  # noqa: S105 - the variable's name, not a secret
EXIT_OK, EXIT_MISMATCH, EXIT_ERROR = 0, 1, 2


class HandsetError(Exception):
    """A step the handset cannot perform now (send with no session, dial during one)."""


# --- the handset ---------------------------------------------------------------------------


class Handset:
    """One handset on one dialect: dials, sends and aborts over one aiohttp ClientSession."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        *,
        url: str,
        msisdn: str,
        dialect: str | Dialect = Dialect.NATIVE,
        secret: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        new_session_id: Callable[[], str] | None = None,
        trace: TextIO | None = None,
        observe: Callable[[Exchange], None] | None = None,
    ) -> None:
        self.codec = codec_for(dialect)
        self._trace = trace
        """Where ``--trace`` prints each request and reply, secrets masked (None: nowhere)."""
        self._observe = observe
        """Told of every exchange, secrets masked (the web handset's timeline)."""
        self._shown_inputs: tuple[str, ...] = ()
        """The session's inputs as the trace shows them: a secret one as ``HIDDEN``."""
        self._http = http
        self._url = url.rstrip("/")
        self._secret = secret
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._new_id = new_session_id
        self.msisdn = msisdn
        self.state: HandsetState | None = None
        self.screen: Screen | None = None
        """The latest screen, kept after END so it can still be checked."""
        self.reply: Reply | None = None

    @property
    def running(self) -> bool:
        return self.state is not None

    async def dial(self, code: str) -> Screen:
        if self.state is not None:
            raise HandsetError(f"cannot dial {code}: a session is still running (abort it first)")
        session_id = self._new_id() if self._new_id else None
        self._shown_inputs = ()
        return await self._hop(new_session(self.msisdn, code, session_id), Op.BEGIN, "")

    async def send(self, text: str) -> Screen:
        if self.state is None:
            why = "the session has ended" if self.screen is not None else "nothing was dialled"
            # Not the text: it may be a PUK1 or a password, and the page shows this message.
            raise HandsetError(f"cannot send: {why}")
        return await self._hop(self.state, Op.CONTINUE, text)

    async def abort(self, *, keep_screen: bool = False) -> None:
        """End the running session; with ``keep_screen`` the last screen stays on the
        display once the abort succeeded (greyed in the web handset, as after Cancel)."""
        if self.state is None:
            raise HandsetError("cannot abort: no session is running")
        shown_screen = self.screen
        state, self.state, self.screen, self.reply = self.state, None, None, None
        request = self.codec.request(state, Op.ABORT, secret=self._secret)
        if request is not None:
            shown = self._shown(state, Op.ABORT, "")
            status, _, body = await self._exchange(request, Op.ABORT, shown)
            check_abort_reply(status, body)
        if keep_screen:
            self.screen = shown_screen

    @property
    def asks_for_secret(self) -> bool:
        """Whether the latest screen asks for a secret (:func:`asks_for_secret`)."""
        return self.screen is not None and asks_for_secret(self.screen)

    async def _hop(self, state: HandsetState, op: Op, text: str) -> Screen:
        request = self.codec.request(state, op, text, secret=self._secret)
        assert request is not None  # Every dialect sends begin and continue.
        shown_text = HIDDEN if op is Op.CONTINUE and self.asks_for_secret else text
        shown = self._shown(state, op, shown_text)
        # Forget the session first: after an error the gateway's view of it is unknown.
        self.state = None
        status, content_type, body = await self._exchange(request, op, shown)
        reply = self.codec.parse(state, status, content_type, body)
        self.state = None if reply.screen.ends else state.advanced(op, text, reply)
        if op is Op.CONTINUE:
            self._shown_inputs = (*self._shown_inputs, shown_text)
        self.screen, self.reply = reply.screen, reply
        return reply.screen

    def _shown(self, state: HandsetState, op: Op, text: str) -> HttpRequest | None:
        """The request as ``--trace`` prints it: the same, with every secret input (this
        one, and earlier ones that Africa's Talking sends again) and the caller's secret
        replaced by ``HIDDEN``."""
        if self._trace is None and self._observe is None:
            return None
        masked = replace(state, inputs=self._shown_inputs)
        return self.codec.request(masked, op, text, secret=HIDDEN if self._secret else None)

    def _print_trace(self, *lines: str) -> None:
        if self._trace is not None:
            for line in lines:
                print(line, file=self._trace, flush=True)

    async def _exchange(
        self, request: HttpRequest, op: Op, shown: HttpRequest | None = None
    ) -> tuple[int, str, bytes]:
        url = self._url + request.path
        if shown is not None and self._trace is not None:
            self._print_trace(f"→ {shown.method} {url}", *_traced(shown.headers, shown.body))
        started = time.monotonic()
        status, reason, body, error = 0, "", b"", ""
        headers: tuple[tuple[str, str], ...] = ()
        try:
            async with self._http.request(
                request.method,
                url,
                data=request.body,
                headers=dict(request.headers),
                timeout=self._timeout,
                allow_redirects=False,
            ) as response:
                body = await response.read()
                status, reason = response.status, response.reason or ""
                headers = tuple(response.headers.items())
                self._print_trace(
                    f"← {response.status} {response.reason}",
                    *_traced(headers, body, request=False),
                )
                return response.status, response.content_type, body
        except TimeoutError:
            error = f"no reply from {url} within {self._timeout.total}s"
            raise SimulatorError(error) from None
        except aiohttp.ClientError as exc:
            error = f"cannot reach {url}: {exc}"
            raise SimulatorError(error) from exc
        finally:
            if self._observe is not None and shown is not None:
                seconds = time.monotonic() - started
                self._observe(
                    Exchange(op, url, shown, status, reason, headers, body, seconds, error)
                )


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request and its reply as they went over the wire, every secret masked (the
    request is the one ``--trace`` prints): what the web handset's timeline shows."""

    op: Op
    url: str
    request: HttpRequest
    """As sent, with the caller's secret and every secret input replaced by ``HIDDEN``."""
    status: int
    """0 when no reply came (``error`` says why)."""
    reason: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    seconds: float
    error: str = ""


# --- secrets and the trace -----------------------------------------------------------------

HIDDEN = "<hidden>"
"""What ``--trace`` shows instead of a secret."""
SECRET_WORDS = re.compile(r"PUK|PIN|парол|passw|код|code", re.IGNORECASE)
"""What a screen that asks for a secret mentions outside its options (PUK1, a password, a
code). The replies do not say which input is secret, so the handset judges by the text,
and rather masks one input too many than one too few."""
_OPTION_LINE = re.compile(r"^\s*\d+[.)]\s")
TRACED_HEADERS = frozenset({"authorization", "content-type"})
"""The reply headers ``--trace`` and the web timeline show (a request's are all shown)."""


def asks_for_secret(screen: Screen) -> bool:
    """Whether ``screen`` asks for a secret: it continues, and a line that is not an option
    (``2. Открыть по PUK1`` is one) mentions PUK1, a password or a code."""
    if screen.ends:
        return False
    lines = screen.text.split("\n")
    return any(SECRET_WORDS.search(line) for line in lines if not _OPTION_LINE.match(line))


def _traced(headers: Sequence[tuple[str, str]], body: bytes, *, request: bool = True) -> list[str]:
    """A request's or reply's headers that matter and its body, as trace lines."""
    lines = []
    for name, value in headers:
        if request or name.lower() in TRACED_HEADERS:
            if name.lower() == "authorization":
                value = f"{value.partition(' ')[0]} {HIDDEN}"
            lines.append(f"  {name}: {value}")
    lines.extend(f"  {line}" for line in body_text(headers, body).split("\n"))
    return lines


def body_text(headers: Sequence[tuple[str, str]], body: bytes) -> str:
    """A body as text; a form decoded (``text=2*<hidden>``, not ``text=2%2A%3Chidden%3E``)."""
    text = body.decode("utf-8", errors="replace")
    if any(
        v.startswith("application/x-www-form-urlencoded")
        for n, v in headers
        if n.lower() == "content-type"
    ):
        text = "&".join(f"{k}={v}" for k, v in parse_qsl(text, keep_blank_values=True))
    return text


# --- showing screens -----------------------------------------------------------------------


def status_line(screen: Screen) -> str:
    """``[UCS-2 57/80]``, plus ``(session ended)`` and an over-limit warning when they apply."""
    parts = [screen.label()]
    if screen.ends:
        parts.append("(session ended)")
    if not screen.fits:
        parts.append(f"!! {screen.length - screen.limit} over the USSD limit")
    return " ".join(parts)


def boxed(screen: Screen) -> list[str]:
    """The screen drawn as a handset display, status line underneath."""
    lines = screen.text.split("\n")
    width = max(24, *(len(line) for line in lines))
    return [
        "┌" + "─" * (width + 2) + "┐",
        *(f"│ {line.ljust(width)} │" for line in lines),
        "└" + "─" * (width + 2) + "┘",
        status_line(screen),
    ]


def indented(screen: Screen, prefix: str = "    ") -> list[str]:
    """The screen as CI log lines: text indented, status line last."""
    return [prefix + line for line in screen.text.split("\n")] + [prefix + status_line(screen)]


# --- scripts -------------------------------------------------------------------------------


async def run_script(
    source: ScriptSource,
    *,
    url: str = DEFAULT_URL,
    msisdn: str | None = None,
    dialect: str | Dialect = Dialect.NATIVE,
    secret: str | None = None,
    session: aiohttp.ClientSession,
    out: TextIO | None = None,
    timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109 - per request, handed to aiohttp
    new_session_id: Callable[[], str] | None = None,
    trace: TextIO | None = None,
) -> int:
    """Run a scenario (file path or already-parsed mapping); returns the exit code 0/1/2.

    The script's own ``msisdn`` and ``dialect`` take precedence over the arguments.
    """
    stream = out if out is not None else sys.stdout

    def say(*lines: str) -> None:
        for line in lines:
            print(line, file=stream)

    try:
        script = load_script(source)
        number = script.msisdn or msisdn
        if not number:
            raise ScriptError("no msisdn: give --msisdn or 'msisdn:' in the script")
        handset = Handset(
            session,
            url=url,
            msisdn=number,
            dialect=script.dialect or dialect,
            secret=secret,
            timeout=timeout,
            new_session_id=new_session_id,
            trace=trace,
        )
    except (ScriptError, ValueError) as exc:
        say(f"ERROR: {exc}")
        return EXIT_ERROR
    step: Step | None = None
    try:
        for step in script.steps:
            say(f"> {step.describe()}")
            await run_step(handset, step, lambda screen: say(*indented(screen)))
            say("  ok")
        step = None
        if handset.running:
            # Leave no session open on the gateway once the scenario is over.
            say("> abort (session still running at end of script)")
            await handset.abort()
    except Mismatch as exc:
        say(
            f"FAIL step {step.number if step else '(end)'}: {step.describe() if step else ''}",
            f"  expected: {exc.expected}",
            "  actual screen:",
            *indented(exc.screen),
        )
        await abandon(handset)
        return EXIT_MISMATCH
    except (HandsetError, ScriptError, SimulatorError) as exc:
        say(f"ERROR step {step.number if step else '(end)'}: {exc}")
        if isinstance(exc, HandsetError) and handset.screen is not None:
            say("  latest screen:", *indented(handset.screen))
        return EXIT_ERROR
    say(f"PASS ({len(script.steps)} steps, {handset.codec.dialect} dialect)")
    return EXIT_OK


async def abandon(handset: Handset) -> None:
    """Best-effort abort after a failure, so the gateway is not left holding the session;
    the failing screen stays on the display (the web handset's replay shows it)."""
    if handset.running:
        # The failure already reported matters more than an error in this courtesy.
        with contextlib.suppress(SimulatorError):
            await handset.abort(keep_screen=True)


# --- interactive ---------------------------------------------------------------------------


def _read_line(prompt: str) -> str | None:
    try:
        line = input(prompt)
    except EOFError:
        return None
    if not sys.stdin.isatty():
        print(line)  # Piped input is not echoed by a terminal; keep the transcript readable.
    return line


def line_history() -> Any | None:
    """readline's line editing and history (arrow keys) for the prompts, when stdin is a
    terminal; None otherwise (piped input, or no readline on this system)."""
    if not sys.stdin.isatty():
        return None
    try:
        import readline  # only for a terminal: importing it changes what input() does
    except ImportError:
        return None
    return readline


def forgetting(history: Any | None) -> Callable[[], None] | None:
    """What drops the line just typed from ``history``: a secret is not kept for the up
    arrow to show again."""
    if history is None:
        return None

    def forget() -> None:
        length = history.get_current_history_length()
        if length:
            history.remove_history_item(length - 1)

    return forget


def shown(screen: Screen) -> list[str]:
    """A screen boxed, with the error that ended it when the core sent one (``--via
    gsup``: a returnError, a Reject, a GSUP error cause)."""
    error = getattr(screen, "error", None)
    return boxed(screen) + ([f"! {error}"] if error else [])


async def interactive(
    handset: Handset,
    *,
    read_line: Callable[[str], str | None] = _read_line,
    out: TextIO | None = None,
    forget: Callable[[], None] | None = None,
) -> int:
    """``dial>`` / ``reply>`` loop until EOF; errors are shown and the session dropped.

    A line typed at a screen that asks for a secret is dropped from the line history by
    ``forget`` (readline's, in a terminal)."""
    stream = out if out is not None else sys.stdout

    def say(*lines: str) -> None:
        for line in lines:
            print(line, file=stream, flush=True)

    while (code := read_line("dial> ")) is not None:
        if not code.strip():
            continue
        try:
            say(*shown(await handset.dial(code.strip())))
            while handset.running:
                line = read_line("reply> ")
                if line and forget is not None and handset.asks_for_secret:
                    forget()
                if line is None or line.strip() in ("", "/abort"):
                    await handset.abort()
                    say("(aborted)")
                    if line is None:
                        return EXIT_OK
                    break
                say(*shown(await handset.send(line)))
        except SimulatorError as exc:
            say(f"! {exc}")
    say("")
    return EXIT_OK


# --- command line --------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ussd-handset",
        description="USSD handset simulator, an HTTP client of the gateway.",
        epilog="ussd-handset web --help: the web handset for testers (a phone in the browser).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    parser.add_argument(
        "--via",
        choices=["http", "gsup"],
        default="http",
        help="http: the gateway's dialects as a USSD centre would (default); gsup: an MSC/VLR "
        "on OsmoHLR's GSUP port, which routes the session to the gateway (its EUSE)",
    )
    parser.add_argument("--url", default=DEFAULT_URL, help=f"gateway base URL ({DEFAULT_URL})")
    parser.add_argument(
        "--hlr",
        default="127.0.0.1:4222",
        help="--via gsup: OsmoHLR's GSUP address, HOST[:PORT] (default: %(default)s)",
    )
    parser.add_argument("--imsi", help="--via gsup: the subscriber's IMSI (OsmoHLR knows it)")
    parser.add_argument("--msisdn", help="the handset's number (or 'msisdn:' in the script)")
    parser.add_argument("--dialect", choices=[d.value for d in Dialect], default="native")
    parser.add_argument("--secret", help=f"bearer secret (default: ${SECRET_ENV})")
    parser.add_argument("--script", type=Path, help="run a YAML scenario instead of prompting")
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help="seconds per request (default: %(default)s)",
    )
    parser.add_argument(
        "--trace",
        action="store_true",
        help=f"print every HTTP request and reply on stderr; the caller's secret and what is "
        f"typed at a screen asking for a PUK1, a password or a code show as {HIDDEN}",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``ussd-handset``; returns the exit code."""
    arguments = sys.argv[1:] if argv is None else argv
    if arguments[:1] == ["web"]:
        from simulators.web.cli import main as web_main  # the web handset needs its own parts

        return web_main(arguments[1:])
    parser = _parser()
    try:
        args = parser.parse_args(arguments)
    except SystemExit as exc:  # argparse exits on --help and on bad usage
        return exc.code if isinstance(exc.code, int) else EXIT_ERROR
    if args.timeout <= 0:
        parser.print_usage(sys.stderr)
        print("ussd-handset: error: --timeout must be positive", file=sys.stderr)
        return EXIT_ERROR
    if args.via == "gsup":
        if not args.imsi or args.script is not None:
            parser.print_usage(sys.stderr)
            print("ussd-handset: error: --via gsup takes --imsi, and no --script", file=sys.stderr)
            return EXIT_ERROR
    elif args.script is None and not args.msisdn:
        parser.print_usage(sys.stderr)
        print("ussd-handset: error: --msisdn is required without --script", file=sys.stderr)
        return EXIT_ERROR
    if isinstance(sys.stdout, io.TextIOWrapper):
        # A C-locale CI runner must not crash on a Cyrillic screen.
        sys.stdout.reconfigure(errors="backslashreplace")
    secret = args.secret if args.secret is not None else os.environ.get(SECRET_ENV) or None
    try:
        return asyncio.run(_gsup(args) if args.via == "gsup" else _amain(args, secret))
    except KeyboardInterrupt:
        print()
        return 130


async def _gsup(args: argparse.Namespace) -> int:
    try:  # pyosmocom (GSUP's reference codec) is a test dependency
        from simulators.gsup import GsupCore
    except ImportError as exc:
        print(f"ussd-handset: --via gsup needs the test extra ({exc.name})", file=sys.stderr)
        return EXIT_ERROR

    host, _, port = args.hlr.rpartition(":") if ":" in args.hlr else (args.hlr, "", "4222")
    try:
        core = GsupCore(host, int(port))
        await core.connect()
    except (OSError, ValueError, SimulatorError) as exc:
        print(f"ussd-handset: cannot connect to OsmoHLR at {args.hlr}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    try:
        handset = core.handset(args.imsi, timeout=args.timeout)
        return await interactive(handset, forget=forgetting(line_history()))  # type: ignore[arg-type]
    finally:
        await core.close()


async def _amain(args: argparse.Namespace, secret: str | None) -> int:
    trace = sys.stderr if args.trace else None
    async with aiohttp.ClientSession() as http:
        if args.script is not None:
            return await run_script(
                args.script,
                url=args.url,
                msisdn=args.msisdn,
                dialect=args.dialect,
                secret=secret,
                session=http,
                timeout=args.timeout,
                trace=trace,
            )
        handset = Handset(
            http,
            url=args.url,
            msisdn=args.msisdn,
            dialect=args.dialect,
            secret=secret,
            timeout=args.timeout,
            trace=trace,
        )
        return await interactive(handset, forget=forgetting(line_history()))


if __name__ == "__main__":
    sys.exit(main())
