"""What every dialect turns a request into, and what it renders a reply from.

A dialect is a pure pair — ``parse(headers, body) -> UssdRequest`` and
``render(reply) -> HttpAnswer`` — with no I/O, so golden fixtures test it byte for byte.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sms.encoding import Encoding

MAX_INPUT = 182
"""No handset can send more than one USSD-String (182 GSM-7 characters)."""
MAX_SESSION_ID = 128


class Op(enum.StrEnum):
    """What the network asks of a hop."""

    BEGIN = "begin"
    CONTINUE = "continue"
    ABORT = "abort"
    TIMEOUT = "timeout"


@dataclass(frozen=True, slots=True)
class UssdRequest:
    """One hop as the network sent it, independent of dialect."""

    dialect: str
    session_id: str
    msisdn: str
    """Normalised ``375XXXXXXXXX`` (the dialect knows its field's name for errors)."""
    op: Op
    text: str
    """BEGIN: the dialled string (or its parameters after ``service_code``);
    CONTINUE: this hop's input, or every input so far when ``cumulative``."""
    hop_key: str
    """Identifies the hop within the session: the same key again is a repeat."""
    service_code: str = ""
    cumulative: bool = False
    """Africa's Talking: ``text`` is all inputs joined by ``*``; a new session may begin
    with parameters already in it."""
    number: int | None = None
    """The hop's number in the session as the network counts it (native ``hop`` from 0,
    Hubtel ``Sequence`` from 1), one more every new request; None when the dialect numbers
    no hops (Africa's Talking). A number below the session's is a late resend of an older
    hop: never applied again."""
    screen_octets: int | None = None
    """The channel's own limit on one USSD-String in octets, when below MAP's 160 (OsmoHLR
    1.5 forwards at most 112: ``ussd_gateway/gsup/``); the screens are paged to it."""


@dataclass(frozen=True, slots=True)
class UssdReply:
    """What to show the handset, with its measured encoding and length."""

    text: str
    ends: bool
    encoding: Encoding
    length: int

    def to_dict(self) -> dict[str, object]:
        """Plain form stored with the session, to answer a repeated hop identically."""
        return {
            "text": self.text,
            "ends": self.ends,
            "encoding": str(self.encoding),
            "length": self.length,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> UssdReply:
        """Inverse of :meth:`to_dict`."""
        return cls(
            str(data["text"]),
            bool(data["ends"]),
            Encoding(str(data["encoding"])),
            int(data["length"]),  # type: ignore[call-overload]
        )


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    """An HTTP response as bytes: what a dialect renders."""

    status: int
    content_type: str
    body: bytes


@dataclass(frozen=True, slots=True)
class DialectSpec:
    """A dialect: its name, its route and its pure parse/render functions."""

    name: str
    path: str
    parse: Callable[[Mapping[str, str], bytes], UssdRequest]
    render: Callable[[UssdReply, UssdRequest], HttpAnswer]
    render_error: Callable[[int, str, str], HttpAnswer]
