"""The GSUP link to OsmoHLR: one TCP connection with IPA framing, identified as
``EUSE-<name>``, kept alive and made again when it fails.

OsmoHLR asks who we are (``ID_GET``) and routes ``ussd route prefix … external <name>``
sessions to the peer that answered ``EUSE-<name>``. A PING every ``ping_seconds`` (answered
by a PONG) shows the link alive; silence for twice that, a refused connection or a closed
one, and the link is made again after a pause that doubles from ``reconnect_min`` to
``reconnect_max`` (with jitter, so several gateways do not knock in step). While it is down
:meth:`GsupLink.status` says so (``/readyz``'s ``gsup`` check) and the counters count it.
Each GSUP message is handed to ``on_message`` in a task of its own; what a lost link means
for the sessions it carried is ``on_lost``'s business (``connector.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

import structlog

from ussd_gateway.errors import PeerDecodeError
from ussd_gateway.gsup import ipa

log = structlog.get_logger("ussd_gateway.gsup")

CONNECT_TIMEOUT = 5.0


class LinkCounters(Protocol):
    """What the connector counts (``metrics/service.py`` implements it)."""

    def gsup_link(self, event: str) -> None:
        """``connected``, ``failed`` (no connection made) or ``lost`` (a link dropped)."""

    def gsup_message(self, direction: str, kind: str) -> None:
        """A message ``in`` or ``out``: ``begin``, ``continue``, ``end``, ``error``,
        ``undecodable``, ``unknown_imsi``, ``ignored``."""


class NoCounters:
    """Counts nothing (a connector built without metrics)."""

    def gsup_link(self, event: str) -> None:
        pass

    def gsup_message(self, direction: str, kind: str) -> None:
        pass


class LinkSettings(Protocol):
    """The settings a link is made of (``config``'s ``OsmocomSettings``)."""

    @property
    def enabled(self) -> bool: ...
    @property
    def ctrl_port(self) -> int: ...
    @property
    def hlr_host(self) -> str: ...
    @property
    def hlr_port(self) -> int: ...
    @property
    def euse_name(self) -> str: ...
    @property
    def reconnect_min(self) -> float: ...
    @property
    def reconnect_max(self) -> float: ...
    @property
    def ping_seconds(self) -> float: ...
    @property
    def max_ussd_octets(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Link:
    """Where to connect and as whom."""

    host: str
    port: int
    name: str
    """The EUSE name; the IPA identity is ``EUSE-<name>``."""
    reconnect_min: float = 0.5
    reconnect_max: float = 30.0
    ping_seconds: float = 10.0
    max_ussd_octets: int = 112

    @classmethod
    def of(cls, settings: LinkSettings) -> Link:
        """The link ``[osmocom]`` describes."""
        return cls(
            host=settings.hlr_host,
            port=settings.hlr_port,
            name=settings.euse_name,
            reconnect_min=settings.reconnect_min,
            reconnect_max=settings.reconnect_max,
            ping_seconds=settings.ping_seconds,
            max_ussd_octets=settings.max_ussd_octets,
        )


class GsupLink:
    """One kept GSUP link as ``EUSE-<name>``."""

    def __init__(
        self,
        link: Link,
        *,
        on_message: Callable[[bytes], Coroutine[Any, Any, None]],
        on_lost: Callable[[], Coroutine[Any, Any, None]],
        counters: LinkCounters | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.link = link
        self.on_message = on_message
        self.on_lost = on_lost
        self.counters = counters or NoCounters()
        self.clock = clock
        self._writer: asyncio.StreamWriter | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._up_since: float | None = None
        self._down_since: float | None = clock()
        self._failures = 0
        self._detail = "not connected yet"

    @property
    def identity(self) -> str:
        """The IPA name OsmoHLR knows us by."""
        return f"EUSE-{self.link.name}"

    @property
    def up(self) -> bool:
        """The link is made and identified."""
        return self._up_since is not None

    def status(self) -> dict[str, Any]:
        """Since when the link is up, or since when it is down and why."""
        if self._up_since is not None:
            return {"up_since": self._up_since}
        return {"down_since": self._down_since, "failures": self._failures, "detail": self._detail}

    def write(self, frame: bytes) -> bool:
        """Write one frame; False when the link is down (nothing written)."""
        writer = self._writer
        if writer is None or writer.is_closing():
            return False
        writer.write(frame)
        return True

    async def drain(self) -> None:
        """Wait for the messages in hand (their hops commit and answer)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=5.0)

    async def run(self) -> None:
        """Keep the link, forever (until cancelled)."""
        delay = self.link.reconnect_min
        while True:
            try:
                async with asyncio.timeout(CONNECT_TIMEOUT):
                    reader, writer = await asyncio.open_connection(self.link.host, self.link.port)
            except (OSError, TimeoutError) as exc:
                self._failed(type(exc).__name__)
                self.counters.gsup_link("failed")
            else:
                began = time.monotonic()
                try:
                    await self._serve(reader, writer)
                    self._failed("closed by the HLR")
                except (OSError, asyncio.IncompleteReadError, PeerDecodeError) as exc:
                    self._failed(type(exc).__name__)
                finally:
                    # Shutting down (cancelled) too: the sessions end here (an id dies
                    # with the process that gave it, so no other process could continue).
                    await self._drop(writer)
                if time.monotonic() - began > 2 * self.link.ping_seconds:
                    delay = self.link.reconnect_min  # it was up a while: start over
            pause = delay * random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not secrecy
            log.info("gsup_reconnect_in", seconds=round(pause, 2), detail=self._detail)
            await asyncio.sleep(pause)
            delay = min(delay * 2, self.link.reconnect_max)

    def _failed(self, detail: str) -> None:
        self._failures += 1
        self._detail = detail
        if self._down_since is None:
            self._down_since = self.clock()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        heard = time.monotonic()
        pinger: asyncio.Task[None] | None = None

        async def ping() -> None:
            while True:
                await asyncio.sleep(self.link.ping_seconds)
                if time.monotonic() - heard > 2 * self.link.ping_seconds:
                    log.warning("gsup_link_silent", seconds=round(time.monotonic() - heard, 1))
                    writer.close()  # the read below ends with the connection
                    return
                writer.write(ipa.ccm_frame(ipa.Ccm.PING))

        try:
            while True:
                frame = await ipa.read_frame(reader)
                heard = time.monotonic()
                if frame.stream == ipa.STREAM_CCM:
                    kind = frame.payload[:1]
                    if kind == bytes((ipa.Ccm.PING,)):
                        writer.write(ipa.ccm_frame(ipa.Ccm.PONG))
                    elif kind == bytes((ipa.Ccm.ID_GET,)):
                        tags = ipa.requested_tags(frame.payload[1:])
                        writer.write(ipa.id_response(self.identity, tags))
                        await writer.drain()
                        self._connected(writer)
                        pinger = pinger or asyncio.create_task(ping())
                    continue
                if frame.stream != ipa.STREAM_OSMO or frame.payload[:1] != bytes((ipa.EXT_GSUP,)):
                    continue  # another Osmocom stream (OAP): not ours
                task = asyncio.create_task(self.on_message(frame.payload[1:]))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        finally:
            if pinger is not None:
                pinger.cancel()

    def _connected(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        self._up_since, self._down_since, self._failures = self.clock(), None, 0
        self._detail = ""
        self.counters.gsup_link("connected")
        log.info("gsup_connected", euse=self.identity)

    async def _drop(self, writer: asyncio.StreamWriter) -> None:
        was_up = self._writer is writer
        self._writer = None
        writer.close()
        with contextlib.suppress(OSError, ConnectionError):
            await writer.wait_closed()
        if not was_up:
            return
        self._up_since = None
        self._down_since = self.clock()
        self.counters.gsup_link("lost")
        log.warning("gsup_link_lost", detail=self._detail)
        await self.on_lost()
