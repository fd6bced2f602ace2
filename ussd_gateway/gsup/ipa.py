"""IPA framing (the ip.access multiplex GSUP and OsmoHLR's CTRL run over) and its CCM.

A frame is a 16-bit big-endian length, a one-octet stream id, then that many octets.
Stream 0xFE is CCM: ``PING``/``PONG`` keep the link alive, ``ID_GET`` asks who we are and
``ID_RESP`` says it. Stream 0xEE is Osmocom's, its first octet an extension: 0x05 GSUP,
0x00 CTRL. OsmoHLR names a GSUP peer by the ``ID_RESP``'s serial-number tag (its route, and
``EUSE-<name>`` is how it knows an external USSD entity): we give the name in that tag and
in the unit-name tag, NUL-terminated, as libosmocore does.
"""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass

from ussd_gateway.errors import PeerDecodeError

STREAM_CCM = 0xFE
STREAM_OSMO = 0xEE
EXT_CTRL = 0x00
EXT_GSUP = 0x05
MAX_FRAME = 0xFFFF


class Ccm(enum.IntEnum):
    """CCM message types."""

    PING = 0x00
    PONG = 0x01
    ID_GET = 0x04
    ID_RESP = 0x05
    ID_ACK = 0x06


class IdTag(enum.IntEnum):
    """The identity tags an ``ID_GET`` may ask for."""

    SERNR = 0x00
    UNITNAME = 0x01
    LOCATION1 = 0x02
    LOCATION2 = 0x03
    EQUIPVERS = 0x04
    SWVERSION = 0x05
    IPADDR = 0x06
    MACADDR = 0x07
    UNIT = 0x08


@dataclass(frozen=True, slots=True)
class Frame:
    """One frame: its stream id and payload."""

    stream: int
    payload: bytes


def frame(stream: int, payload: bytes) -> bytes:
    """The octets of one frame."""
    if len(payload) > MAX_FRAME:
        raise ValueError(f"an IPA frame carries at most {MAX_FRAME} octets")
    return len(payload).to_bytes(2, "big") + bytes((stream,)) + payload


def gsup_frame(message: bytes) -> bytes:
    """A GSUP message in its frame."""
    return frame(STREAM_OSMO, bytes((EXT_GSUP,)) + message)


def ccm_frame(kind: Ccm, body: bytes = b"") -> bytes:
    """A CCM message in its frame."""
    return frame(STREAM_CCM, bytes((kind,)) + body)


async def read_frame(reader: asyncio.StreamReader) -> Frame:
    """The next frame.

    Raises:
        asyncio.IncompleteReadError: the peer closed the connection (mid-frame or between).
    """
    header = await reader.readexactly(3)
    payload = await reader.readexactly(int.from_bytes(header[:2], "big"))
    return Frame(header[2], payload)


def requested_tags(id_get_body: bytes) -> list[int]:
    """The tags an ``ID_GET`` asks for (its body: pairs of length 1 and tag)."""
    tags = []
    offset = 0
    while offset + 2 <= len(id_get_body):
        length, tag = id_get_body[offset], id_get_body[offset + 1]
        if length == 0:
            raise PeerDecodeError("IPA ID_GET with a zero length")
        tags.append(tag)
        offset += 1 + length
    return tags


def id_response(name: str, tags: list[int]) -> bytes:
    """The ``ID_RESP`` frame answering ``tags``: ``name`` as serial number and unit name,
    a unit id 0/0/0 and an all-zero MAC for a server that asks, every other tag empty."""
    values: dict[int, str] = {
        IdTag.SERNR: name,
        IdTag.UNITNAME: name,
        IdTag.UNIT: "0/0/0",
        IdTag.MACADDR: "00:00:00:00:00:00",
    }
    body = bytearray()
    for tag in tags or [IdTag.SERNR, IdTag.UNITNAME]:
        value = values.get(tag, "").encode("ascii") + b"\x00"
        body += (len(value) + 1).to_bytes(2, "big") + bytes((tag,)) + value
    return ccm_frame(Ccm.ID_RESP, bytes(body))
