"""IPA framing and the identity OsmoHLR routes by."""

from __future__ import annotations

import asyncio

import pytest

from ussd_gateway.errors import PeerDecodeError
from ussd_gateway.gsup import ipa

# OsmoHLR 1.5's ID_GET as seen on the wire: UNIT, MAC, LOCATION1/2, EQUIPVERS, SWVERSION,
# UNITNAME, SERNR.
ID_GET_BODY = bytes.fromhex("0108010701020103010401050101 0100".replace(" ", ""))


def test_identity_answers_every_tag_asked_with_the_name_as_serial_number() -> None:
    tags = ipa.requested_tags(ID_GET_BODY)
    assert tags == [8, 7, 2, 3, 4, 5, 1, 0]
    frame = ipa.id_response("EUSE-gw", tags)
    assert frame[2] == ipa.STREAM_CCM and frame[3] == ipa.Ccm.ID_RESP
    body, found = frame[4:], {}
    while body:
        length, tag = int.from_bytes(body[:2], "big"), body[2]
        found[tag] = body[3 : 2 + length]
        body = body[2 + length :]
    assert found[ipa.IdTag.SERNR] == b"EUSE-gw\x00"  # OsmoHLR's route, NUL included
    assert found[ipa.IdTag.UNIT] == b"0/0/0\x00"  # without a unit id OsmoHLR hangs up
    assert set(found) == set(tags)


def test_a_zero_length_tag_is_refused() -> None:
    with pytest.raises(PeerDecodeError):
        ipa.requested_tags(b"\x00\x08")


async def test_frames_are_read_whole_from_a_stream() -> None:
    reader = asyncio.StreamReader()
    reader.feed_data(ipa.gsup_frame(b"\x20\x01\x01\x10") + ipa.ccm_frame(ipa.Ccm.PING)[:2])
    first = await ipa.read_frame(reader)
    assert (first.stream, first.payload) == (ipa.STREAM_OSMO, b"\x05\x20\x01\x01\x10")
    reader.feed_data(ipa.ccm_frame(ipa.Ccm.PING)[2:])
    reader.feed_eof()
    assert (await ipa.read_frame(reader)).payload == b"\x00"
    with pytest.raises(asyncio.IncompleteReadError):
        await ipa.read_frame(reader)
