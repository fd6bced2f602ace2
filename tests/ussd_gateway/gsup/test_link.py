"""The GSUP link against a loopback peer that speaks IPA as OsmoHLR does: identity, PING,
messages handed over, a dropped link reported and made again, a silent one given up."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from ussd_gateway.gsup import ipa
from ussd_gateway.gsup.link import GsupLink, Link

ID_GET = ipa.frame(ipa.STREAM_CCM, bytes.fromhex("04010801070101 0100".replace(" ", "")))


class Peer:
    """A TCP server that asks each client who it is, then records what it sends."""

    def __init__(self, *, answer_pings: bool = True) -> None:
        self.answer_pings = answer_pings
        self.connections = 0
        self.frames: asyncio.Queue[ipa.Frame] = asyncio.Queue()
        self.writers: list[asyncio.StreamWriter] = []

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        writer.write(ID_GET)
        try:
            while True:
                frame = await ipa.read_frame(reader)
                if frame.payload[:1] == bytes((ipa.Ccm.PING,)) and frame.stream == ipa.STREAM_CCM:
                    if self.answer_pings:
                        writer.write(ipa.ccm_frame(ipa.Ccm.PONG))
                    continue
                await self.frames.put(frame)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass


@pytest.fixture
async def peer() -> AsyncIterator[tuple[Peer, int]]:
    stand_in = Peer()
    server = await asyncio.start_server(stand_in.serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield stand_in, port
    for writer in stand_in.writers:
        writer.close()
    server.close()


async def _until(condition: object, seconds: float = 5.0) -> None:
    async with asyncio.timeout(seconds):
        while not condition():  # type: ignore[operator]  # noqa: ASYNC110 - polls state of another task
            await asyncio.sleep(0.01)


async def nothing(*_: object) -> None:
    return None


@contextlib.asynccontextmanager
async def running(link: GsupLink) -> AsyncIterator[GsupLink]:
    """``link.run()`` in a task for the block, cancelled after it."""
    task = asyncio.create_task(link.run())
    try:
        yield link
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_identifies_hands_over_messages_and_comes_back(peer: tuple[Peer, int]) -> None:
    stand_in, port = peer
    received: list[bytes] = []
    lost: list[bool] = []

    async def on_message(payload: bytes) -> None:
        received.append(payload)

    async def on_lost() -> None:
        lost.append(True)

    link = GsupLink(
        Link("127.0.0.1", port, "gw", reconnect_min=0.05, reconnect_max=0.1, ping_seconds=0.2),
        on_message=on_message,
        on_lost=on_lost,
    )
    async with running(link):
        identity = await stand_in.frames.get()
        assert identity.stream == ipa.STREAM_CCM and b"EUSE-gw\x00" in identity.payload
        await _until(lambda: link.up)
        stand_in.writers[-1].write(ipa.gsup_frame(b"\x20\x01\x01\x10"))
        await _until(lambda: received == [b"\x20\x01\x01\x10"])
        assert link.write(ipa.gsup_frame(b"\x22\x01\x01\x10"))
        assert (await stand_in.frames.get()).payload == b"\x05\x22\x01\x01\x10"
        stand_in.writers[-1].close()  # the HLR drops us
        await _until(lambda: lost == [True])
        await _until(lambda: stand_in.connections == 2 and link.up)
        assert link.status()["up_since"] > 0


async def test_a_silent_peer_is_given_up(peer: tuple[Peer, int]) -> None:
    """No PONG (nothing at all) for twice the ping interval: the link is made again."""
    stand_in, port = peer
    stand_in.answer_pings = False
    link = GsupLink(
        Link("127.0.0.1", port, "gw", reconnect_min=0.05, reconnect_max=0.1, ping_seconds=0.1),
        on_message=nothing,
        on_lost=nothing,
    )
    async with running(link):
        await _until(lambda: stand_in.connections >= 2)


async def test_nobody_listening_counts_failures() -> None:
    link = GsupLink(
        Link("127.0.0.1", 9, "gw", reconnect_min=0.02, reconnect_max=0.05),
        on_message=nothing,
        on_lost=nothing,
    )
    async with running(link):
        await _until(lambda: link.status().get("failures", 0) >= 2)
        assert not link.up and not link.write(b"x")


async def test_a_stop_while_up_ends_the_sessions_it_carried(peer: tuple[Peer, int]) -> None:
    """Cancelled (the gateway stopping) with the link up: ``on_lost`` runs, as for a drop."""
    _, port = peer
    lost: list[bool] = []

    async def on_lost() -> None:
        lost.append(True)

    link = GsupLink(Link("127.0.0.1", port, "gw"), on_message=nothing, on_lost=on_lost)
    async with running(link):
        await _until(lambda: link.up)
    assert lost == [True] and not link.up
