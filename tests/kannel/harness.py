"""A real Kannel 1.4.5 (Debian ``kannel`` + ``kannel-extras``) for tests, on loopback only.

Three pieces, each usable alone:

* :class:`KannelConfig` writes a ``kannel.conf`` into a directory: bearerbox with a ``fake``
  SMSC, one smsbox, a catch-all ``sms-service`` whose ``get-url`` (or ``post-url``) points at
  the MO endpoint you give it, and a ``sendsms-user``. Every port is a free loopback port.
* :func:`kannel_running` starts bearerbox, then smsbox, waits until both are up, and stops
  them afterwards. Their logs are ``bearerbox.log`` and ``smsbox.log`` in the directory.
* :class:`FakeSmsc` is the subscriber's side: Kannel's ``fakesmsc`` connected to bearerbox's
  fake SMSC. :meth:`FakeSmsc.send_mo` sends a message *to* Kannel (an MO), and every message
  Kannel sends out (an MT: a get-url reply, or a ``cgi-bin/sendsms`` message) is collected
  as a :class:`SmscMessage`; :meth:`FakeSmsc.wait_for_mt` waits for one.

Call :func:`require_kannel` first: it skips the test when Kannel is not installed, or fails
it under ``CI=true``. A gateway end-to-end test looks like this::

    binaries = require_kannel()
    # Ports are chosen when the config is made, so the gateway can be told where sendsms is
    # before it starts; the MO URL is filled in once the gateway's port is known (the file
    # is written by kannel_running).
    config = KannelConfig(mo_url="", directory=tmp_path / "kannel")
    env = {..., "…SENDSMS_URL…": config.sendsms_url}  # plus config.username / .password
    async with gateway_process(env) as gw:
        config.mo_url = f"{gw.url}/sms/mo"
        async with kannel_running(config, binaries) as kannel, FakeSmsc(kannel) as phone:
            await phone.send_mo("+375291234567", "141", "KOD")
            reply = await phone.wait_for_mt(lambda m: m.receiver == "+375291234567")
            # reply.sender == "141", reply.text == the gateway's answer
            status, body = await kannel.sendsms(to="+375291234567", sender="141", text="Код 1")
            # status == 202, body == "0: Accepted for delivery"

What fakesmsc prints for each MT (the last field is the message itself)::

    ... DEBUG: Got message 2: <141 +375291234567 text Reply to KOD hello>
    ... DEBUG: Got message 3: <141 +375291234567 ucs-2 %04%1A%04%3E%044%00+%001...>

``text`` is the text as is (UTF-8), ``ucs-2`` is URL-encoded UTF-16BE (``+`` is a space),
``data`` is URL-encoded 8-bit data, and ``udh <udh> data <payload>`` (both URL-encoded, the
coding not shown) is one part of a concatenated message; :class:`SmscMessage` decodes them.

Kannel 1.4.5 behaviour these tests rely on (seen here, with this configuration):

* A reply with non-GSM text (Cyrillic) must come with the response header
  ``X-Kannel-Coding: 2`` (and ``charset=utf-8``); without it Kannel turns every Cyrillic letter
  into ``?``. The header only works with ``accept-x-kannel-headers = true`` (the default
  here); without that Kannel still converts the body to UTF-16BE but sends it as GSM text.
* A 5xx from the MO URL makes Kannel reply ``Could not fetch content, sorry.``; an empty
  body sends nothing (``omit-empty``); a reply longer than ``max-messages`` SMS is cut.
* A UCS-2 MO reaches the MO URL as UTF-8 with ``coding=0`` (``mo-recode``).
* ``%a`` (``text`` here) joins the words with single spaces (``kod  a   b`` → ``kod a b``);
  ``%b`` is the raw text. More escapes can go in ``mo_url``'s own query string.
* ``post-url`` sends ``X-Kannel-To``/``-Time``/``-SMSC``/``-Coding``/``-Service`` but
  ``X-Kannel-From`` only with ``send-sender = true`` (set here); the query carries ``from``
  either way.
* ``cgi-bin/sendsms`` answers 202 ``0: Accepted for delivery`` (no message id); without
  ``from`` (and no ``global-sender``) 400 ``Sender missing and no global set, rejected``.
* With ``dlr-mask`` the fake SMSC produces two delivery reports: ``%d`` = 8 (SMSC got it,
  ``%A`` = ``ACK/``) and then 1 (delivered); in a DLR ``%p`` is the subscriber and ``%P`` the
  service number, and ``%I`` is not the MT's id, so put your own id in the ``dlr-url``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import socket
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Literal
from urllib.parse import quote_from_bytes, unquote_to_bytes

import aiohttp
import pytest

HOST = "127.0.0.1"
FAKESMSC = Path("/usr/lib/kannel/test/fakesmsc")
STARTUP_SECONDS = 15.0
STOP_SECONDS = 5.0
MO_ESCAPES = "from=%p&to=%P&text=%a&smsc=%i&id=%I&coding=%c&charset=%C"
"""Query string appended to the MO URL: sender, receiver, all words of the text, SMSC id,
Kannel's message UUID, data coding (0 GSM, 1 8-bit, 2 UCS-2) and charset."""

# fakesmsc reads stdin with fgets() into a 256-byte buffer: a longer line would be sent as
# several MOs. We refuse such lines instead.
_FAKESMSC_LINE_MAX = 255
# fakesmsc logs every MT as `Got message N: <sender receiver type payload>`.
_GOT_MESSAGE = re.compile(rb"Got message (\d+): <(.*)>\s*$")
_SENT_MESSAGE = re.compile(rb"fakesmsc: sent message (\d+)")
_POKE_SECONDS = 0.05


@dataclass(frozen=True)
class KannelBinaries:
    """Where the Kannel programs are."""

    bearerbox: Path
    smsbox: Path
    fakesmsc: Path


def find_kannel() -> KannelBinaries | None:
    """The installed Kannel, or ``None`` when any of its three programs is missing.

    Debian puts bearerbox and smsbox in /usr/sbin, which is not on every user's PATH.
    """

    def program(name: str) -> Path | None:
        found = shutil.which(name) or shutil.which(name, path="/usr/sbin")
        return Path(found) if found else None

    bearerbox, smsbox = program("bearerbox"), program("smsbox")
    fakesmsc = FAKESMSC if os.access(FAKESMSC, os.X_OK) else None
    if bearerbox is None or smsbox is None or fakesmsc is None:
        return None
    return KannelBinaries(bearerbox, smsbox, fakesmsc)


def require_kannel() -> KannelBinaries:
    """The installed Kannel; skip the test without it, or fail it when ``CI=true``."""
    binaries = find_kannel()
    if binaries is not None:
        return binaries
    reason = (
        "Kannel is not installed (needs bearerbox and smsbox on PATH or in /usr/sbin, and "
        f"{FAKESMSC}): apt-get install kannel kannel-extras"
    )
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} — CI=true, so this is a failure, not a skip", pytrace=False)
    pytest.skip(reason)


def free_ports(count: int) -> list[int]:
    """``count`` distinct loopback TCP ports that nothing listens on right now.

    All sockets stay bound until every port is chosen, so the kernel cannot hand out the same
    port twice.
    """
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind((HOST, 0))
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


@dataclass
class KannelConfig:
    """A kannel.conf with every listener on a free loopback port.

    ``mo_url`` is the gateway's MO endpoint without a query (``http://127.0.0.1:N/sms/mo``);
    Kannel calls it with :data:`MO_ESCAPES` as the query string, by GET (``get-url``) or, when
    ``mo_method`` is ``"post"``, by POST with the text as the body (``post-url``). The HTTP
    response body is sent back to the subscriber as the reply.
    """

    mo_url: str
    directory: Path
    mo_method: Literal["get", "post"] = "get"
    username: str = "tester"
    password: str = "testpw"
    admin_password: str = "adminpw"
    smsc_id: str = "FAKE"
    reply_max_messages: int = 1
    """``max-messages`` of the sms-service: how many SMS one reply may take."""
    sendsms_max_messages: int = 3
    """``max-messages`` of the sendsms-user: longer texts are cut without an error."""
    accept_x_kannel_headers: bool = True
    """Let the MO endpoint's response set ``X-Kannel-Coding`` etc. for the reply."""
    global_sender: str | None = None
    """smsbox's ``global-sender``: the ``from`` of a sendsms request that gives none."""
    dlr_url: str | None = None
    """The sendsms-user's default ``dlr-url`` (a ``cgi-bin/sendsms`` request may give its own);
    Kannel only calls it for messages sent with a ``dlr-mask``."""
    admin_port: int = 0
    smsbox_port: int = 0
    smsc_port: int = 0
    sendsms_port: int = 0

    def __post_init__(self) -> None:
        # Zero means "pick one": all four are chosen together so they are distinct.
        ports = iter(free_ports(4))
        for name in ("admin_port", "smsbox_port", "smsc_port", "sendsms_port"):
            if getattr(self, name) == 0:
                setattr(self, name, next(ports))

    @property
    def path(self) -> Path:
        """Where :meth:`write` puts the file."""
        return self.directory / "kannel.conf"

    @property
    def mo_url_with_escapes(self) -> str:
        """The URL Kannel calls for each MO, before it fills in the escapes."""
        separator = "&" if "?" in self.mo_url else "?"
        return f"{self.mo_url}{separator}{MO_ESCAPES}"

    @property
    def sendsms_url(self) -> str:
        """smsbox's ``cgi-bin/sendsms``."""
        return f"http://{HOST}:{self.sendsms_port}/cgi-bin/sendsms"

    @property
    def admin_url(self) -> str:
        """bearerbox's admin HTTP interface (``/status.txt?password=…``)."""
        return f"http://{HOST}:{self.admin_port}"

    def render(self) -> str:
        """The configuration text."""
        # Kannel's config parser takes a double-quoted value literally, escapes and all.
        mo_key = "get-url" if self.mo_method == "get" else "post-url"
        dlr_line = f'dlr-url = "{self.dlr_url}"\n' if self.dlr_url else ""
        sender_line = f'global-sender = "{self.global_sender}"\n' if self.global_sender else ""
        return (
            "group = core\n"
            f"admin-port = {self.admin_port}\n"
            f"admin-interface = {HOST}\n"
            f'admin-password = "{self.admin_password}"\n'
            f"smsbox-port = {self.smsbox_port}\n"
            f"smsbox-interface = {HOST}\n"
            f'box-allow-ip = "{HOST}"\n'
            # Said out loud: otherwise bearerbox warns that it picked the default.
            "dlr-storage = internal\n"
            "\n"
            "group = smsc\n"
            "smsc = fake\n"
            f"smsc-id = {self.smsc_id}\n"
            f"port = {self.smsc_port}\n"
            f"our-host = {HOST}\n"
            f'connect-allow-ip = "{HOST}"\n'
            "\n"
            "group = smsbox\n"
            f"bearerbox-host = {HOST}\n"
            f"bearerbox-port = {self.smsbox_port}\n"
            f"sendsms-port = {self.sendsms_port}\n"
            f"sendsms-interface = {HOST}\n"
            # UCS-2 MOs reach the MO URL as UTF-8, not as raw UTF-16BE.
            "mo-recode = true\n"
            f"{sender_line}"
            "\n"
            "group = sms-service\n"
            "keyword = default\n"
            f'{mo_key} = "{self.mo_url_with_escapes}"\n'
            f"max-messages = {self.reply_max_messages}\n"
            "concatenation = true\n"
            # An empty response body means "no reply", not an "<Empty reply…>" SMS.
            "omit-empty = true\n"
            # post-url: also send the subscriber's number as X-Kannel-From.
            "send-sender = true\n"
            f"accept-x-kannel-headers = {str(self.accept_x_kannel_headers).lower()}\n"
            "\n"
            "group = sendsms-user\n"
            f'username = "{self.username}"\n'
            f'password = "{self.password}"\n'
            f"max-messages = {self.sendsms_max_messages}\n"
            "concatenation = true\n"
            f"{dlr_line}"
        )

    def write(self) -> Path:
        """Write the file (and its directory) and return its path."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path.write_text(self.render(), encoding="utf-8")
        return self.path


@dataclass
class Kannel:
    """A running bearerbox and smsbox."""

    config: KannelConfig
    binaries: KannelBinaries
    processes: dict[str, asyncio.subprocess.Process] = field(default_factory=dict)

    @property
    def sendsms_url(self) -> str:
        """smsbox's ``cgi-bin/sendsms``."""
        return self.config.sendsms_url

    @property
    def smsc_port(self) -> int:
        """The port fakesmsc connects to."""
        return self.config.smsc_port

    def log(self, box: Literal["bearerbox", "smsbox"]) -> str:
        """What a box has logged so far."""
        path = self.config.directory / f"{box}.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    async def status(self) -> str:
        """bearerbox's ``status.txt``: boxes, SMSC connections, counters."""
        async with aiohttp.ClientSession() as http:
            return await _fetch_status(http, self.config)

    async def sendsms(
        self,
        *,
        to: str,
        text: str,
        sender: str | None = None,
        coding: int | None = None,
        charset: str = "UTF-8",
        extra: Mapping[str, str] | None = None,
    ) -> tuple[int, str]:
        """Send an MT through ``cgi-bin/sendsms``; returns Kannel's status and body.

        ``coding`` defaults to 2 (UCS-2) when ``text`` has anything outside ASCII, so that
        Cyrillic arrives intact; ``extra`` adds parameters such as ``dlr-mask``.
        """
        if coding is None:
            coding = 0 if text.isascii() else 2
        params = {
            "username": self.config.username,
            "password": self.config.password,
            "to": to,
            "text": text,
            "charset": charset,
            "coding": str(coding),
            **({"from": sender} if sender is not None else {}),
            **(extra or {}),
        }
        async with (
            aiohttp.ClientSession() as http,
            http.get(self.sendsms_url, params=params) as response,
        ):
            return response.status, await response.text()


async def _fetch_status(http: aiohttp.ClientSession, config: KannelConfig) -> str:
    url = f"{config.admin_url}/status.txt"
    async with http.get(url, params={"password": config.admin_password}) as response:
        response.raise_for_status()
        return await response.text()


@asynccontextmanager
async def kannel_running(
    config: KannelConfig,
    binaries: KannelBinaries | None = None,
    *,
    log_level: int = 0,
    startup_seconds: float = STARTUP_SECONDS,
) -> AsyncIterator[Kannel]:
    """Write ``config``, start bearerbox then smsbox, and stop both on exit.

    Ready means: bearerbox answers ``status.txt``, smsbox is listed there as connected and
    its sendsms port accepts connections. ``log_level`` is Kannel's ``-v`` (0 debug … 4
    panic). A box that exits or is not ready in time raises ``RuntimeError`` with its log.
    """
    binaries = binaries or require_kannel()
    config.write()
    kannel = Kannel(config, binaries)
    with contextlib.ExitStack() as logs:
        try:
            for box, program in (("bearerbox", binaries.bearerbox), ("smsbox", binaries.smsbox)):
                log = logs.enter_context((config.directory / f"{box}.log").open("ab"))
                kannel.processes[box] = await asyncio.create_subprocess_exec(
                    *(str(program), "-v", str(log_level), str(config.path)),
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                )
                await _wait_ready(kannel, box, startup_seconds)
            yield kannel
        finally:
            # smsbox first, so that it does not log errors reconnecting to a gone bearerbox.
            for box in ("smsbox", "bearerbox"):
                if box in kannel.processes:
                    await _stop(kannel.processes[box])


async def _wait_ready(kannel: Kannel, box: str, seconds: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    process = kannel.processes[box]
    async with aiohttp.ClientSession() as http:
        while loop.time() < deadline:
            if process.returncode is not None:
                raise RuntimeError(
                    f"{box} exited with status {process.returncode}:\n{_tail(kannel, box)}"
                )
            with contextlib.suppress(aiohttp.ClientError, OSError):
                status = await _fetch_status(http, kannel.config)
                if box == "bearerbox" or (
                    "smsbox:" in status and await _accepts(kannel.config.sendsms_port)
                ):
                    return
            await asyncio.sleep(0.05)
    raise RuntimeError(f"{box} was not ready within {seconds:.0f} s:\n{_tail(kannel, box)}")


async def _accepts(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection(HOST, port)
    except OSError:
        return False
    writer.close()
    await writer.wait_closed()
    return True


def _tail(kannel: Kannel, box: str, lines: int = 30) -> str:
    text = kannel.log("bearerbox" if box == "bearerbox" else "smsbox")
    return "\n".join(text.splitlines()[-lines:])


async def _stop(process: asyncio.subprocess.Process, signum: int = signal.SIGTERM) -> None:
    """``signum``, then SIGKILL if the process is still there after :data:`STOP_SECONDS`."""
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signum)
        try:
            await asyncio.wait_for(process.wait(), STOP_SECONDS)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()


@dataclass(frozen=True)
class SmscMessage:
    """One message fakesmsc received from Kannel (an MT), decoded.

    ``kind`` is fakesmsc's type field: ``text``, ``ucs-2``, ``data`` or ``udh``. ``payload``
    is the message bytes after URL-decoding (for ``text``: the line's bytes as printed).
    ``text`` is ``payload`` decoded — UTF-16BE for ``ucs-2``, UTF-8 otherwise (Latin-1 if
    that fails); for ``udh`` parts the coding is not printed, so check ``payload``.
    """

    number: int
    sender: str
    receiver: str
    kind: str
    payload: bytes
    udh: bytes = b""
    raw: str = ""

    @property
    def text(self) -> str:
        """The payload as text, in the coding its kind says (see :meth:`text_as`)."""
        return self.text_as(2 if self.kind == "ucs-2" else 0)

    def text_as(self, coding: int) -> str:
        """The payload decoded as Kannel ``coding`` 2 (UTF-16BE), else as UTF-8 or Latin-1.

        For ``udh`` parts fakesmsc does not print the coding: the caller knows it.
        """
        if coding == 2:
            return self.payload.decode("utf-16-be", errors="replace")
        try:
            return self.payload.decode("utf-8")
        except UnicodeDecodeError:
            return self.payload.decode("latin-1")

    @property
    def part(self) -> tuple[int, int, int] | None:
        """``(reference, total, sequence)`` of a concatenated part (8-bit reference UDH)."""
        if len(self.udh) == 6 and self.udh[:3] == b"\x05\x00\x03":
            return self.udh[3], self.udh[4], self.udh[5]
        return None

    @classmethod
    def parse(cls, number: int, line: bytes) -> SmscMessage:
        """Parse what fakesmsc prints between ``<`` and ``>``."""
        sender, receiver, kind, rest = [*line.split(b" ", 3), b"", b"", b""][:4]
        kind_s = kind.decode("ascii", errors="replace")
        udh = b""
        if kind_s == "text":
            payload = rest
        elif kind_s == "udh":
            # `udh <udh> data <payload>`, whatever the coding of the payload.
            udh_part, _label, data = [*rest.split(b" ", 2), b"", b""][:3]
            udh, payload = _url_decode(udh_part), _url_decode(data)
        else:
            payload = _url_decode(rest)
        return cls(
            number=number,
            sender=sender.decode("utf-8", errors="replace"),
            receiver=receiver.decode("utf-8", errors="replace"),
            kind=kind_s,
            payload=payload,
            udh=udh,
            raw=line.decode("utf-8", errors="replace"),
        )


def _url_decode(value: bytes) -> bytes:
    # Kannel's octstr_url_encode writes a space as "+" and a real "+" as "%2B".
    return unquote_to_bytes(value.replace(b"+", b" "))


class FakeSmsc:
    """Kannel's fakesmsc connected to a running :class:`Kannel`, driven through its stdin.

    fakesmsc without messages on its command line runs "interactive": each stdin line is an
    MO. Its quirks, handled here: it only reads what bearerbox sent when stdin has a line or
    its 1 s select() times out (so while waiting, this pokes it with empty lines, which it
    skips); it reads stdin with ``fgets`` into a 256-byte buffer (one line at a time, waiting
    for each to be sent; longer lines are refused); it crashes when stdin closes (stopped with
    SIGINT instead); and bearerbox serves one fakesmsc at a time (use one :class:`FakeSmsc`
    per Kannel; a second one waits until the first has gone).
    """

    def __init__(self, kannel: Kannel, *, connect_seconds: float = STARTUP_SECONDS) -> None:
        self.kannel = kannel
        self.connect_seconds = connect_seconds
        self.received: list[SmscMessage] = []
        self.log_path = kannel.config.directory / "fakesmsc.log"
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._changed = asyncio.Condition()
        self._sent = 0
        self._lock = asyncio.Lock()

    async def __aenter__(self) -> FakeSmsc:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        """Start fakesmsc and wait until bearerbox lists the fake SMSC as online."""
        self._process = await asyncio.create_subprocess_exec(
            str(self.kannel.binaries.fakesmsc),
            "-H",
            HOST,
            "-r",
            str(self.kannel.smsc_port),
            "-i",
            "0",
            "-m",
            "-1",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,  # gwlib logs to stderr
        )
        self._reader = asyncio.create_task(self._read_log())
        await self._wait_online()

    async def _wait_online(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.connect_seconds
        line = re.compile(
            rf"{re.escape(self.kannel.config.smsc_id)}:{self.kannel.smsc_port} \((\w+)"
        )
        while loop.time() < deadline:
            if self._process is None or self._process.returncode is not None:
                raise RuntimeError(f"fakesmsc exited:\n{self.log()}")
            with contextlib.suppress(aiohttp.ClientError, OSError):
                found = line.search(await self.kannel.status())
                if found and found.group(1) == "online":
                    return
            await asyncio.sleep(0.05)
        raise RuntimeError(f"the fake SMSC was not online within {self.connect_seconds:.0f} s")

    async def stop(self) -> None:
        """Stop fakesmsc (SIGINT: it leaves cleanly at its next 1 s tick)."""
        if self._process is not None:
            await _stop(self._process, signal.SIGINT)
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    def log(self) -> str:
        """What fakesmsc has logged so far."""
        if not self.log_path.exists():
            return ""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    async def _read_log(self) -> None:
        assert self._process is not None and self._process.stderr is not None
        with self.log_path.open("ab") as log:
            async for line in self._process.stderr:
                log.write(line)
                log.flush()
                async with self._changed:
                    if got := _GOT_MESSAGE.search(line):
                        self.received.append(SmscMessage.parse(int(got[1]), got[2]))
                    elif sent := _SENT_MESSAGE.search(line):
                        self._sent = int(sent[1])
                    self._changed.notify_all()

    async def send_mo(
        self,
        sender: str,
        receiver: str,
        text: str,
        *,
        kind: Literal["auto", "text", "ucs2"] = "auto",
        timeout: float = 5.0,  # noqa: ASYNC109 - a failed wait says what it waited for
    ) -> None:
        """Send ``text`` from ``sender`` to ``receiver`` (the service number) into Kannel.

        ``auto`` sends one-line ASCII as ``text`` and anything else as ``ucs2`` (URL-encoded
        UTF-16BE), as a phone would send Cyrillic. Returns once fakesmsc has sent it.
        """
        if kind == "auto":
            plain = text.isascii() and text.isprintable() and text == text.strip()
            kind = "text" if plain and text else "ucs2"
        payload = text if kind == "text" else quote_from_bytes(text.encode("utf-16-be"), safe="")
        line = f"{sender} {receiver} {kind} {payload}\n".encode()
        if len(line) > _FAKESMSC_LINE_MAX:
            raise ValueError(
                f"fakesmsc reads at most {_FAKESMSC_LINE_MAX} bytes a line; this MO takes "
                f"{len(line)} (UCS-2 costs up to 6 bytes a character)"
            )
        process = self._process
        if process is None or process.stdin is None or process.returncode is not None:
            raise RuntimeError("fakesmsc is not running")
        async with self._lock:  # one line in flight: see the class docstring
            target = self._sent + 1
            process.stdin.write(line)
            await process.stdin.drain()
            await self._wait(lambda: self._sent >= target, timeout, f"fakesmsc to send {line!r}")

    async def wait_for_mt(
        self,
        predicate: Callable[[SmscMessage], bool] = lambda _: True,
        timeout: float = 10.0,  # noqa: ASYNC109 - a failed wait says what it waited for
    ) -> SmscMessage:
        """The first MT received so far or within ``timeout`` s that matches ``predicate``."""

        def match() -> SmscMessage | None:
            return next((m for m in self.received if predicate(m)), None)

        await self._wait(lambda: match() is not None, timeout, "a matching MT")
        found = match()
        assert found is not None
        return found

    async def _wait(self, ready: Callable[[], bool], timeout: float, what: str) -> None:  # noqa: ASYNC109
        def settled() -> bool:
            return ready() or self._reader is None or self._reader.done()

        try:
            async with asyncio.timeout(timeout):
                while True:
                    async with self._changed:
                        if settled():
                            break
                        with contextlib.suppress(TimeoutError):
                            async with asyncio.timeout(_POKE_SECONDS):
                                await self._changed.wait()
                    await self._poke()
        except TimeoutError:
            raise AssertionError(
                f"waited {timeout} s for {what}; received: {[m.raw for m in self.received]}"
            ) from None
        if not ready():
            raise AssertionError(f"fakesmsc exited while waiting for {what}:\n{self.log()}")

    async def _poke(self) -> None:
        """Make fakesmsc look at its socket and stdin now instead of at its next 1 s tick.

        It skips a line shorter than 2 bytes, but reading it ends its select() on stdin; each
        poke also lets it take one more line out of its stdio buffer, where a line can sit
        unseen by select() when two arrived together.
        """
        process = self._process
        if process is not None and process.stdin is not None and process.returncode is None:
            with contextlib.suppress(ConnectionError):
                process.stdin.write(b"\n")
                await process.stdin.drain()
