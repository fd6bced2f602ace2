"""Who is calling: the MSISDN of an IMSI, from OsmoHLR's own subscriber data (CTRL).

GSUP names the subscriber by IMSI only: OsmoMSC sends no MSISDN with USSD, and OsmoHLR
forwards the MSC's message to an external USSD entity as it came, without looking the
subscriber up (only its internal handlers do). The gateway's subscribers are keyed by
MSISDN, so the number is asked of the HLR that owns it: ``GET subscriber.by-imsi-<IMSI>
.msisdn`` on OsmoHLR's CTRL interface (IPA stream 0xEE, extension 0x00, text commands).
The core stays the one place an IMSI's number is kept; a number changed there is used
from the next session on.

``ERROR … No such subscriber.`` and the HLR's ``none`` (a subscriber without a number)
both make the IMSI unknown (None); a CTRL link that does not answer is
:class:`LookupFailed`. One connection is kept and re-opened after a failure; one
command is in flight at a time (a lookup is one loopback round trip, once a session).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re

import structlog

from ussd_gateway.gsup import ipa

log = structlog.get_logger("ussd_gateway.gsup")

TIMEOUT = 2.0
"""Seconds a lookup may take, connecting included."""
_IMSI = re.compile(r"[0-9]{1,15}")


class LookupFailed(Exception):
    """OsmoHLR's CTRL interface did not answer (down, refused, timed out, garbled)."""


class CtrlSubscribers:
    """MSISDNs by IMSI from one OsmoHLR's CTRL interface."""

    def __init__(self, host: str, port: int, *, timeout: float = TIMEOUT) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self._ids = itertools.count(1)
        self._lock = asyncio.Lock()
        self._link: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def msisdn(self, imsi: str) -> str | None:
        """The subscriber's MSISDN (digits as the HLR keeps them), None for an IMSI the
        HLR does not know or that has no number.

        Raises:
            LookupFailed: the CTRL interface did not answer in time or answered garbage.
        """
        if not _IMSI.fullmatch(imsi):
            return None
        async with self._lock:
            # A kept connection may have died with an HLR restart since the last lookup:
            # one failure on it is tried once more on a new one.
            attempts = 2 if self._link is not None else 1
            for attempt in range(attempts):
                try:
                    async with asyncio.timeout(self.timeout):
                        reply = await self._get(f"subscriber.by-imsi-{imsi}.msisdn")
                    break
                except (OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
                    await self.close()
                    if attempt + 1 == attempts:
                        raise LookupFailed(type(exc).__name__) from None
        if reply is None or reply == "none":
            return None
        if not reply.isdigit():
            raise LookupFailed("the MSISDN is not digits")
        return reply

    async def _get(self, variable: str) -> str | None:
        if self._link is None:
            self._link = await asyncio.open_connection(self.host, self.port)
        reader, writer = self._link
        command_id = next(self._ids)
        command = f"GET {command_id} {variable}".encode("ascii")
        writer.write(ipa.frame(ipa.STREAM_OSMO, bytes((ipa.EXT_CTRL,)) + command))
        await writer.drain()
        while True:
            frame = await ipa.read_frame(reader)
            if frame.stream == ipa.STREAM_CCM and frame.payload[:1] == bytes((ipa.Ccm.PING,)):
                writer.write(ipa.ccm_frame(ipa.Ccm.PONG))
                continue
            if frame.stream != ipa.STREAM_OSMO or frame.payload[:1] != bytes((ipa.EXT_CTRL,)):
                continue  # a TRAP or another stream: not our answer
            words = frame.payload[1:].decode("utf-8", "replace").split(" ", 3)
            if len(words) < 3 or words[1] != str(command_id):
                continue  # an answer to a command given up on before
            if words[0] == "GET_REPLY" and len(words) == 4 and words[2] == variable:
                return words[3].strip()
            if words[0] == "ERROR":
                # "No such subscriber." — and any other refusal names no number either.
                log.info("gsup_msisdn_refused", reason=" ".join(words[2:])[:80])
                return None
            raise OSError("an unexpected CTRL answer")

    async def close(self) -> None:
        """Close the CTRL connection (the next lookup opens another)."""
        link, self._link = self._link, None
        if link is not None:
            link[1].close()
            with contextlib.suppress(OSError, ConnectionError):
                await link[1].wait_closed()
