"""GSUP messages (Osmocom's Generic Subscriber Update Protocol), the part USSD uses.

A message is one octet of type, then information elements as 8-bit tag, 8-bit length and
value, the IMSI first (libosmocore ``osmo_gsup_decode`` refuses a message without it
there). Written here rather than taken from ``pyosmocom`` (``osmocom.gsup.message``, the
reference Python codec, GPL-2.0-or-later): this Apache-2.0 service cannot link it, so the
tests use it instead, as an independent oracle of this module both ways.

The IEs read and written are those of the supplementary-service messages
(``PROC_SS_REQUEST``/``RESULT``/``ERROR``): IMSI, cause, MSISDN, message class, session id
and state, SS info, source and destination name. Any other IE is skipped, as libosmocore
skips IEs it does not know.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ussd_gateway.errors import PeerDecodeError


class MessageType(enum.IntEnum):
    """The message types of this codec (libosmocore ``gsup.h``)."""

    PROC_SS_REQUEST = 0x20
    PROC_SS_ERROR = 0x21
    PROC_SS_RESULT = 0x22
    UPDATE_LOCATION_REQUEST = 0x04
    UPDATE_LOCATION_ERROR = 0x05
    UPDATE_LOCATION_RESULT = 0x06
    INSERT_DATA_REQUEST = 0x10
    INSERT_DATA_RESULT = 0x12


class SessionState(enum.IntEnum):
    """A TCAP-like dialogue's state as GSUP carries it."""

    UNDEFINED = 0
    BEGIN = 1
    CONTINUE = 2
    END = 3


MESSAGE_CLASS_USSD = 3
"""The message class of SS/USSD messages (``OSMO_GSUP_MESSAGE_CLASS_USSD``)."""

_IMSI, _CAUSE, _MSISDN, _CLASS = 0x01, 0x02, 0x08, 0x0A
_SESSION_ID, _SESSION_STATE, _SS_INFO = 0x30, 0x31, 0x35
_SOURCE, _DESTINATION = 0x60, 0x61
_MAX_IMSI = 15


@dataclass(frozen=True, slots=True)
class GsupMessage:
    """One message; absent IEs are None."""

    type: int
    imsi: str
    session_id: int | None = None
    session_state: SessionState | None = None
    ss_info: bytes | None = None
    cause: int | None = None
    msisdn: str | None = None
    message_class: int | None = None
    source_name: bytes | None = None
    destination_name: bytes | None = None

    @property
    def is_error(self) -> bool:
        """An ``…_ERROR`` type (the low two bits 01)."""
        return self.type & 0x03 == 0x01


def _bcd(digits: str) -> bytes:
    if not digits.isdigit() or not digits.isascii():
        raise ValueError("BCD digits only")
    padded = digits + "F" * (len(digits) % 2)
    return bytes(int(padded[i + 1], 16) << 4 | int(padded[i]) for i in range(0, len(padded), 2))


def _digits(value: bytes, what: str) -> str:
    out = []
    for octet in value:
        for nibble in (octet & 0x0F, octet >> 4):
            if nibble == 0x0F:
                continue
            if nibble > 9:
                raise PeerDecodeError(f"{what} has a nibble that is no digit")
            out.append(str(nibble))
    return "".join(out)


def encode(message: GsupMessage) -> bytes:
    """The message's octets, IMSI first.

    Raises:
        ValueError: an IMSI that is no 1–15 digits, a value longer than 255 octets.
    """
    if not 1 <= len(message.imsi) <= _MAX_IMSI:
        raise ValueError("an IMSI has 1 to 15 digits")
    ies: list[tuple[int, bytes]] = [(_IMSI, _bcd(message.imsi))]
    if message.cause is not None:
        ies.append((_CAUSE, bytes((message.cause,))))
    if message.msisdn is not None:
        bcd = _bcd(message.msisdn)
        ies.append((_MSISDN, bytes((len(bcd),)) + bcd))
    if message.session_id is not None:
        ies.append((_SESSION_ID, message.session_id.to_bytes(4, "big")))
    if message.session_state is not None:
        ies.append((_SESSION_STATE, bytes((message.session_state,))))
    if message.ss_info is not None:
        ies.append((_SS_INFO, message.ss_info))
    if message.message_class is not None:
        ies.append((_CLASS, bytes((message.message_class,))))
    if message.source_name is not None:
        ies.append((_SOURCE, message.source_name))
    if message.destination_name is not None:
        ies.append((_DESTINATION, message.destination_name))
    out = bytearray((message.type,))
    for tag, value in ies:
        if len(value) > 0xFF:
            raise ValueError(f"IE 0x{tag:02X}: {len(value)} octets, at most 255")
        out += bytes((tag, len(value))) + value
    return bytes(out)


def decode(data: bytes) -> GsupMessage:
    """Read one message.

    Raises:
        PeerDecodeError: no type, no IMSI first, an IE past the end, a value of the wrong
            size for its IE.
    """
    if not data:
        raise PeerDecodeError("empty GSUP message")
    fields: dict[int, bytes] = {}
    offset, first = 1, True
    while offset < len(data):
        if offset + 2 > len(data):
            raise PeerDecodeError("GSUP IE header past the end")
        tag, length = data[offset], data[offset + 1]
        value = data[offset + 2 : offset + 2 + length]
        if len(value) != length:
            raise PeerDecodeError(f"GSUP IE 0x{tag:02X} past the end")
        if first and tag != _IMSI:
            raise PeerDecodeError("GSUP message without the IMSI first")
        first = False
        fields.setdefault(tag, value)  # a repeated IE: the first counts, as in libosmocore
        offset += 2 + length
    if _IMSI not in fields:
        raise PeerDecodeError("GSUP message without an IMSI")
    imsi = _digits(fields[_IMSI], "IMSI")
    if not 1 <= len(imsi) <= _MAX_IMSI:
        raise PeerDecodeError("an IMSI has 1 to 15 digits")
    return GsupMessage(
        type=data[0],
        imsi=imsi,
        session_id=_int(fields, _SESSION_ID, 4, "session id"),
        session_state=_state(fields),
        ss_info=fields.get(_SS_INFO),
        cause=_int(fields, _CAUSE, 1, "cause"),
        msisdn=_msisdn(fields.get(_MSISDN)),
        message_class=_int(fields, _CLASS, 1, "message class"),
        source_name=fields.get(_SOURCE),
        destination_name=fields.get(_DESTINATION),
    )


def _int(fields: dict[int, bytes], tag: int, size: int, what: str) -> int | None:
    value = fields.get(tag)
    if value is None:
        return None
    if len(value) != size:
        raise PeerDecodeError(f"GSUP {what} is {size} octet(s)")
    return int.from_bytes(value, "big")


def _state(fields: dict[int, bytes]) -> SessionState | None:
    value = _int(fields, _SESSION_STATE, 1, "session state")
    if value is None:
        return None
    try:
        return SessionState(value)
    except ValueError:
        raise PeerDecodeError(f"GSUP session state {value} is unknown") from None


def _msisdn(value: bytes | None) -> str | None:
    # libosmocore writes the MSISDN as a length octet and BCD digits (gsm48 BCD number).
    if value is None:
        return None
    if not value or value[0] != len(value) - 1:
        raise PeerDecodeError("GSUP MSISDN length does not match")
    return _digits(value[1:], "MSISDN")
