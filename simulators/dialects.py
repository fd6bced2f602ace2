"""Client side of the gateway's three USSD dialects, as the operator's USSD centre speaks them.

Pure functions and frozen values only, no I/O: ``handset`` does the HTTP. Keeping the wire
formats here lets the tests check them without a gateway, and keeps the simulator a client
of the documented formats rather than of ``ussd_gateway``'s code (which it must not import).

Over 300 lines: the handset's side of the three dialects, each a request builder and a
strict reply reader (it refuses what a real USSD centre would refuse).
"""

from __future__ import annotations

import enum
import json
import uuid
from dataclasses import dataclass, replace
from typing import Any, Protocol
from urllib.parse import urlencode

from sms.encoding import Encoding, Measure, measure, ussd_limit

_LABELS = {Encoding.GSM7: "GSM-7", Encoding.UCS2: "UCS-2"}
_SNIPPET = 200
"""Characters of an unexpected body quoted in an error: enough to recognise, not a dump."""


class SimulatorError(Exception):
    """The conversation with the gateway cannot go on: bad reply, HTTP error, no connection."""


class HttpError(SimulatorError):
    """The gateway answered with a non-success status; carries its error code and message."""

    def __init__(self, status: int, code: str | None, message: str) -> None:
        self.status = status
        self.code = code
        self.message = message
        head = f"HTTP {status}" + (f" {code}" if code else "")
        super().__init__(f"{head}: {message}" if message else head)


class Dialect(enum.StrEnum):
    """The wire formats the gateway accepts."""

    NATIVE = "native"
    AFRICASTALKING = "africastalking"
    HUBTEL = "hubtel"


class Op(enum.StrEnum):
    """What the handset does on a hop."""

    BEGIN = "begin"
    CONTINUE = "continue"
    ABORT = "abort"


@dataclass(frozen=True, slots=True)
class Screen:
    """One screen as the handset shows it; ``ends`` is true when the session is over."""

    text: str
    ends: bool

    @property
    def measure(self) -> Measure:
        """Encoding and length on the air, by the same rules the gateway uses."""
        return measure(self.text)

    @property
    def encoding(self) -> Encoding:
        return self.measure.encoding

    @property
    def length(self) -> int:
        """Septets (GSM-7) or UTF-16 units (UCS-2)."""
        return self.measure.units

    @property
    def limit(self) -> int:
        """Units one USSD-String holds in this screen's encoding."""
        return ussd_limit(self.encoding)

    @property
    def fits(self) -> bool:
        return self.length <= self.limit

    def label(self) -> str:
        """Status like ``[UCS-2 57/80]``."""
        return f"[{_LABELS[self.encoding]} {self.length}/{self.limit}]"


@dataclass(frozen=True, slots=True)
class Reply:
    """A parsed gateway reply: the screen plus what the dialect carries alongside it."""

    screen: Screen
    client_state: str = ""
    """Hubtel's opaque ClientState, echoed on the next request."""
    declared: Measure | None = None
    """Encoding and length the gateway claims (native dialect only)."""

    def disagreement(self) -> str | None:
        """Why the gateway's declared encoding/length differ from the text's, if they do."""
        if self.declared is None or self.declared == self.screen.measure:
            return None
        own = self.screen.measure
        return (
            f"gateway declared {self.declared.encoding} length {self.declared.units}, "
            f"but the text measures {own.encoding} length {own.units}"
        )


@dataclass(frozen=True, slots=True)
class HandsetState:
    """What the handset remembers about its running session between hops."""

    session_id: str
    msisdn: str
    dialled: str
    hop: int = 0
    """Requests already sent in this session."""
    inputs: tuple[str, ...] = ()
    """Every input sent after the dial, in order (Africa's Talking resends them all)."""
    client_state: str = ""

    def advanced(self, op: Op, text: str, reply: Reply) -> HandsetState:
        """The state after ``op`` with ``text`` was sent and answered by ``reply``."""
        inputs = (*self.inputs, text) if op is Op.CONTINUE else self.inputs
        return replace(self, hop=self.hop + 1, inputs=inputs, client_state=reply.client_state)


def new_session(msisdn: str, dialled: str, session_id: str | None = None) -> HandsetState:
    """A fresh session for ``dialled``; a random id unless one is given (tests)."""
    return HandsetState(session_id or uuid.uuid4().hex, msisdn, dialled)


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """One request to send: path is relative to the gateway's base URL."""

    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        """Value of header ``name`` (case-insensitive), if present."""
        wanted = name.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), None)


class Codec(Protocol):
    """Builds one dialect's requests and parses its replies."""

    @property
    def dialect(self) -> Dialect: ...

    def request(
        self, state: HandsetState, op: Op, text: str = "", *, secret: str | None = None
    ) -> HttpRequest | None:
        """The request for ``op`` (``text`` is this hop's input); None if the dialect sends none."""
        ...

    def parse(self, state: HandsetState, status: int, content_type: str, body: bytes) -> Reply:
        """The reply to a begin/continue request; raises SimulatorError if malformed."""
        ...


def service_code(dialled: str) -> str:
    """The code digits of a dialled string: ``*141*3*6#`` -> ``141`` (Hubtel's ServiceCode)."""
    return dialled.strip().removeprefix("*").removesuffix("#").split("*", 1)[0]


def check_abort_reply(status: int, body: bytes) -> None:
    """Accept any success to an abort: its body is not shown, only errors matter."""
    if not 200 <= status < 300:
        raise http_error(status, body)


def http_error(status: int, body: bytes) -> HttpError:
    """The error for a non-success reply, quoting the server's own code and message."""
    text = body.decode("utf-8", errors="replace")
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = None
    if isinstance(data, dict):
        # Native errors are {"error", "message"}; accept Hubtel-style capitals too.
        code = data.get("error") or data.get("Error")
        message = data.get("message") or data.get("Message")
        if isinstance(message, str):
            return HttpError(status, code if isinstance(code, str) else None, message)
    return HttpError(status, None, _snippet(text))


def _snippet(text: str) -> str:
    text = text.strip()
    return text if len(text) <= _SNIPPET else text[:_SNIPPET] + "..."


def _headers(content_type: str, secret: str | None) -> tuple[tuple[str, str], ...]:
    headers = [("Content-Type", content_type)]
    if secret:
        headers.append(("Authorization", f"Bearer {secret}"))
    return tuple(headers)


def _json_request(path: str, payload: dict[str, Any], secret: str | None) -> HttpRequest:
    # ensure_ascii=False: Cyrillic input travels as UTF-8, as real centres send it.
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return HttpRequest("POST", path, _headers("application/json; charset=utf-8", secret), body)


def _form_request(path: str, form: dict[str, str], secret: str | None) -> HttpRequest:
    body = urlencode(form).encode("ascii")
    return HttpRequest("POST", path, _headers("application/x-www-form-urlencoded", secret), body)


def _ok_json(status: int, body: bytes) -> dict[str, Any]:
    """The JSON object of a 200 reply, or the SimulatorError describing what came instead."""
    if status != 200:
        raise http_error(status, body)
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SimulatorError(
            f"HTTP 200 but the body is not JSON ({exc}): "
            f"{_snippet(body.decode('utf-8', 'replace'))!r}"
        ) from exc
    if not isinstance(data, dict):
        raise SimulatorError(f"HTTP 200 but the JSON body is not an object: {data!r}")
    return data


def _field(data: dict[str, Any], name: str, kind: type, default: Any = None) -> Any:
    value = data.get(name, default)
    # bool is an int subclass; a JSON true is never a valid length.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise SimulatorError(f"reply field {name!r} should be {kind.__name__}, got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class NativeCodec:
    """``POST /ussd`` JSON: the gateway's own format."""

    dialect: Dialect = Dialect.NATIVE

    def request(
        self, state: HandsetState, op: Op, text: str = "", *, secret: str | None = None
    ) -> HttpRequest:
        payload = {
            "session_id": state.session_id,
            "msisdn": state.msisdn,
            "op": op.value,
            "text": state.dialled if op is Op.BEGIN else text,
            "hop": state.hop,
        }
        return _json_request("/ussd", payload, secret)

    def parse(self, state: HandsetState, status: int, content_type: str, body: bytes) -> Reply:
        data = _ok_json(status, body)
        op = _field(data, "op", str)
        if op not in ("continue", "end"):
            raise SimulatorError(f"reply field 'op' should be 'continue' or 'end', got {op!r}")
        session_id = _field(data, "session_id", str)
        if session_id != state.session_id:
            raise SimulatorError(f"reply is for session {session_id!r}, not {state.session_id!r}")
        encoding = _field(data, "encoding", str)
        if encoding not in set(Encoding):
            raise SimulatorError(
                f"reply field 'encoding' should be 'gsm7' or 'ucs2', got {encoding!r}"
            )
        declared = Measure(Encoding(encoding), _field(data, "length", int))
        return Reply(Screen(_field(data, "text", str), op == "end"), declared=declared)


@dataclass(frozen=True, slots=True)
class AfricasTalkingCodec:
    """``POST /ussd/africastalking`` form; the reply is ``CON ``/``END `` plain text."""

    network_code: str = "25702"
    dialect: Dialect = Dialect.AFRICASTALKING

    def request(
        self, state: HandsetState, op: Op, text: str = "", *, secret: str | None = None
    ) -> HttpRequest | None:
        if op is Op.ABORT:
            # No abort request: the platform reports the session's end to the events URL.
            event = {
                "sessionId": state.session_id,
                "phoneNumber": state.msisdn,
                "serviceCode": state.dialled,
                "networkCode": self.network_code,
                "status": "Incomplete",
                "hopsCount": str(state.hop),
            }
            return _form_request("/ussd/africastalking/events", event, secret)
        # Cumulative: every input of the session so far, joined by "*".
        inputs = (*state.inputs, text) if op is Op.CONTINUE else ()
        form = {
            "sessionId": state.session_id,
            "serviceCode": state.dialled,
            "phoneNumber": state.msisdn,
            "networkCode": self.network_code,
            "text": "*".join(inputs),
        }
        return _form_request("/ussd/africastalking", form, secret)

    def parse(self, state: HandsetState, status: int, content_type: str, body: bytes) -> Reply:
        if status != 200:
            raise http_error(status, body)
        if content_type and content_type != "text/plain":
            raise SimulatorError(f"HTTP 200 but Content-Type is {content_type!r}, not text/plain")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SimulatorError(f"HTTP 200 but the body is not UTF-8 ({exc})") from exc
        for prefix, ends in (("CON ", False), ("END ", True)):
            if text.startswith(prefix):
                return Reply(Screen(text[len(prefix) :], ends))
        raise SimulatorError(f"reply should start with 'CON ' or 'END ', got {_snippet(text)!r}")


@dataclass(frozen=True, slots=True)
class HubtelCodec:
    """``POST /ussd/hubtel`` JSON with Type/Sequence/ClientState."""

    operator: str = "a1"
    dialect: Dialect = Dialect.HUBTEL

    def request(
        self, state: HandsetState, op: Op, text: str = "", *, secret: str | None = None
    ) -> HttpRequest:
        kind = {Op.BEGIN: "Initiation", Op.CONTINUE: "Response", Op.ABORT: "Release"}[op]
        payload = {
            "Type": kind,
            "Mobile": state.msisdn,
            "SessionId": state.session_id,
            "ServiceCode": service_code(state.dialled),
            "Message": state.dialled if op is Op.BEGIN else text,
            "Operator": self.operator,
            "Sequence": state.hop + 1,
            "ClientState": state.client_state,
        }
        return _json_request("/ussd/hubtel", payload, secret)

    def parse(self, state: HandsetState, status: int, content_type: str, body: bytes) -> Reply:
        data = _ok_json(status, body)
        kind = _field(data, "Type", str)
        if kind not in ("Response", "Release"):
            raise SimulatorError(
                f"reply field 'Type' should be 'Response' or 'Release', got {kind!r}"
            )
        screen = Screen(_field(data, "Message", str), kind == "Release")
        return Reply(screen, client_state=_field(data, "ClientState", str, ""))


CODECS: dict[Dialect, Codec] = {
    Dialect.NATIVE: NativeCodec(),
    Dialect.AFRICASTALKING: AfricasTalkingCodec(),
    Dialect.HUBTEL: HubtelCodec(),
}


def codec_for(dialect: str | Dialect) -> Codec:
    """The codec for a dialect name; ValueError names the choices."""
    try:
        return CODECS[Dialect(dialect)]
    except ValueError:
        choices = ", ".join(d.value for d in Dialect)
        raise ValueError(f"unknown dialect {dialect!r} (choose {choices})") from None
