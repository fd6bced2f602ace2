"""The core side of USSD: an MSC/VLR towards OsmoHLR over GSUP, with a subscriber's handset.

:class:`GsupCore` connects to OsmoHLR's GSUP port as an MSC would (IPA framing, named by
its serial-number tag, ``MSC-SIM`` by default) and carries any number of subscribers'
sessions; :class:`GsupHandset` is one subscriber (by IMSI) dialling through it: its BEGIN is
a processUnstructuredSS-Request invoke, its answers the results of the network's
unstructuredSS-Requests, as OsmoMSC forwards them from a phone. OsmoHLR routes the session
by its prefix to the gateway (an external USSD entity) and back.

It shares no code with the gateway's connector on purpose: GSUP is Osmocom's own Python
codec (``pyosmocom``, ``osmocom.gsup.message``; a test dependency) and the Facility is
pycrate's, so the two sides meet only on the wire. What arrives is a :class:`GsupScreen`:
a text and whether it ends, or the error that ended it (a returnError's MAP code, a
Reject, a GSUP ``PROC_SS_ERROR`` and its cause).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from osmocom.gsup.message import GsupMessage
from pycrate_asn1dir import SS
from pycrate_mobile.TS23038 import decode_7b, encode_7b

from simulators.dialects import Screen, SimulatorError
from sms.encoding import is_gsm7

PSSR, USSR = 59, 60
_FACILITY = SS.SS_Facility.Facility


@dataclass(frozen=True)
class GsupScreen(Screen):
    """A screen, or (``error`` set, ``ends`` true) how the core ended the session."""

    error: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


def _frame(stream: int, payload: bytes) -> bytes:
    return len(payload).to_bytes(2, "big") + bytes((stream,)) + payload


def _ussd(text: str) -> dict[str, bytes]:
    if is_gsm7(text):
        return {"ussd-DataCodingScheme": b"\x0f", "ussd-String": encode_7b(text)[0]}
    return {"ussd-DataCodingScheme": b"\x48", "ussd-String": text.encode("utf-16-be")}


def _text(ussd: dict[str, bytes]) -> str:
    dcs, data = ussd["ussd-DataCodingScheme"][0], ussd["ussd-String"]
    if dcs == 0x0F:
        return str(decode_7b(data))
    if dcs == 0x48:
        return data.decode("utf-16-be")
    raise SimulatorError(f"the network sent a USSD-String with DCS 0x{dcs:02X}")


def pssr_invoke(invoke_id: int, text: str) -> bytes:
    """A phone's processUnstructuredSS-Request: the dialled string."""
    _FACILITY.set_val(
        ("invoke", {"invokeID": invoke_id, "operationCode": ("local", PSSR),
                    "parameters": ("USSD-Arg", _ussd(text))})
    )  # fmt: skip
    return bytes(_FACILITY.to_ber())


def ussr_result(invoke_id: int, text: str) -> bytes:
    """A phone's answer to the network's unstructuredSS-Request."""
    _FACILITY.set_val(
        ("returnResult", {"invokeID": invoke_id, "sequence": {
            "operationCode": ("local", USSR), "parameters": ("USSD-Res", _ussd(text))}})
    )  # fmt: skip
    return bytes(_FACILITY.to_ber())


class GsupCore:
    """One MSC/VLR's GSUP link to OsmoHLR."""

    def __init__(self, host: str, port: int = 4222, *, name: str = "MSC-SIM") -> None:
        self.host, self.port, self.name = host, port, name
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._inboxes: dict[tuple[str, int], asyncio.Queue[dict[str, Any] | None]] = {}
        # Where an MSC's session ids start: OsmoHLR refuses a BEGIN whose IMSI and id name a
        # session it still holds, so two simulated MSCs in a row must not count alike.
        self._ids = itertools.count(random.randrange(0x100, 0x7FFF0000))  # noqa: S311 - no secret
        self._task: asyncio.Task[None] | None = None
        self.closed = asyncio.Event()

    async def __aenter__(self) -> GsupCore:
        await self.connect()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def connect(self) -> None:
        """Connect, answer OsmoHLR's ``ID_GET`` with our name, and start reading."""
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        header = await self._reader.readexactly(3)
        body = await self._reader.readexactly(int.from_bytes(header[:2], "big"))
        if header[2] != 0xFE or body[:1] != b"\x04":
            raise SimulatorError("OsmoHLR did not ask who we are (IPA ID_GET)")
        # The serial number (0x00) is how OsmoHLR routes to us; it refuses a peer without a
        # unit id (0x08). Every other tag asked for (pairs of length 1, tag) is left empty.
        values = {0x00: self.name, 0x01: self.name, 0x08: "0/0/0"}
        resp = b""
        for tag in body[2::2]:
            value = values.get(tag, "").encode("ascii") + b"\x00"
            resp += (len(value) + 1).to_bytes(2, "big") + bytes((tag,)) + value
        self._writer.write(_frame(0xFE, b"\x05" + resp))
        await self._writer.drain()
        self.closed.clear()
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self._reader is not None and self._writer is not None
        try:
            while True:
                header = await self._reader.readexactly(3)
                body = await self._reader.readexactly(int.from_bytes(header[:2], "big"))
                if header[2] == 0xFE and body[:1] == b"\x00":  # PING
                    self._writer.write(_frame(0xFE, b"\x01"))
                if header[2] != 0xEE or body[:1] != b"\x05":
                    continue
                decoded = GsupMessage.from_bytes(body[1:]).to_dict()
                ies = {k: v for ie in decoded["ies"] for k, v in ie.items()}
                ies["msg_type"] = decoded["msg_type"]
                inbox = self._inboxes.get((ies.get("imsi", ""), ies.get("session_id", -1)))
                if inbox is not None:
                    inbox.put_nowait(ies)
        except (asyncio.IncompleteReadError, OSError):
            pass
        finally:
            self.closed.set()
            for inbox in self._inboxes.values():
                inbox.put_nowait(None)

    def send(self, msg_type: str, ies: list[dict[str, Any]]) -> None:
        """Write one GSUP message (pyosmocom's dict form)."""
        if self._writer is None or self._writer.is_closing() or self.closed.is_set():
            raise SimulatorError("the GSUP link to OsmoHLR is closed")
        message = GsupMessage.from_dict({"msg_type": msg_type, "ies": ies})
        self._writer.write(_frame(0xEE, b"\x05" + message.to_bytes()))

    def open_session(self, imsi: str) -> tuple[int, asyncio.Queue[dict[str, Any] | None]]:
        """A new session id for ``imsi`` and the queue its messages arrive in."""
        session_id = next(self._ids)
        inbox: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self._inboxes[(imsi, session_id)] = inbox
        return session_id, inbox

    def close_session(self, imsi: str, session_id: int) -> None:
        self._inboxes.pop((imsi, session_id), None)

    def handset(self, imsi: str, *, timeout: float = 10.0) -> GsupHandset:
        """A subscriber's handset on this MSC."""
        return GsupHandset(self, imsi, timeout=timeout)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError, ConnectionError):
                await self._writer.wait_closed()


class GsupHandset:
    """One subscriber's USSD sessions through a :class:`GsupCore`, one at a time (the
    interface of ``simulators.handset.Handset``: ``dial``, ``send``, ``abort``)."""

    def __init__(self, core: GsupCore, imsi: str, *, timeout: float = 10.0) -> None:
        self.core, self.imsi, self.timeout = core, imsi, timeout
        self.session_id: int | None = None
        self._inbox: asyncio.Queue[dict[str, Any] | None] | None = None
        self._prompt: int | None = None
        self.last: GsupScreen | None = None

    @property
    def running(self) -> bool:
        return self.last is not None and not self.last.ends

    @property
    def asks_for_secret(self) -> bool:
        from simulators.handset import asks_for_secret

        return self.last is not None and asks_for_secret(self.last)

    def _ies(self, state: str, info: bytes | None) -> list[dict[str, Any]]:
        ies: list[dict[str, Any]] = [
            {"imsi": self.imsi},
            {"session_id": self.session_id},
            {"session_state": state},
        ]
        if info is not None:
            ies.append({"supplementary_service_info": info})
        return [*ies, {"message_class": "ussd"}]

    @property
    def prompt(self) -> int | None:
        """The invoke id of the network's last unstructuredSS-Request (what an answer
        answers), None before any."""
        return self._prompt

    def new_session(self) -> int:
        """Leave the session before (if any) and take a new session id, its messages
        received from here on (``dial`` does it; a test sending a raw BEGIN calls it)."""
        if self.session_id is not None:
            self.core.close_session(self.imsi, self.session_id)
        self.session_id, self._inbox = self.core.open_session(self.imsi)
        return self.session_id

    async def dial(self, code: str) -> GsupScreen:
        """BEGIN a session with the dialled ``code``."""
        self.new_session()
        self.core.send("PROC_SS_REQUEST", self._ies("begin", pssr_invoke(1, code)))
        return await self.receive()

    async def send(self, text: str) -> GsupScreen:
        """CONTINUE: answer the prompt on the screen."""
        if not self.running or self._prompt is None:
            raise SimulatorError("no prompt to answer: dial first")
        self.core.send("PROC_SS_REQUEST", self._ies("Continue", ussr_result(self._prompt, text)))
        return await self.receive()

    async def send_raw(self, state: str, info: bytes | None) -> None:
        """A message with any Facility (tests: a malformed one)."""
        self.core.send("PROC_SS_REQUEST", self._ies(state, info))

    async def abort(self) -> None:
        """END the session from the phone's side (the subscriber hung up)."""
        if self.running:
            self.core.send("PROC_SS_REQUEST", self._ies("end", None))
        self.last = GsupScreen("", True)

    async def receive(self, within: float | None = None) -> GsupScreen:
        """The next message of this session, as a screen.

        Raises:
            TimeoutError: nothing came within ``within`` seconds (default: the handset's).
            SimulatorError: the link closed.
        """
        assert self._inbox is not None
        async with asyncio.timeout(within or self.timeout):
            ies = await self._inbox.get()
        if ies is None:
            raise SimulatorError("the GSUP link to OsmoHLR closed")
        self.last = screen = self._screen(ies)
        return screen

    def _screen(self, ies: dict[str, Any]) -> GsupScreen:
        ends = ies.get("session_state") == "end"
        if ies["msg_type"] == "PROC_SS_ERROR":
            return GsupScreen("", True, error=f"gsup cause {ies.get('cause')}", raw=ies)
        info = ies.get("supplementary_service_info")
        if not info:
            return GsupScreen("", True, error="no facility", raw=ies)
        _FACILITY.from_ber(info)
        kind, value = _FACILITY.get_val()
        if kind == "invoke" and value["operationCode"] == ("local", USSR):
            self._prompt = value["invokeID"]
            return GsupScreen(_text(value["parameters"][1]), ends, raw=ies)
        if kind == "returnResult" and "sequence" in value:
            return GsupScreen(_text(value["sequence"]["parameters"][1]), True, raw=ies)
        if kind == "returnError":
            return GsupScreen("", True, error=f"returnError {value['errorCode'][1]}", raw=ies)
        return GsupScreen("", True, error=kind, raw=ies)
