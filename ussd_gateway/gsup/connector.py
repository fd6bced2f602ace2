"""The EUSE connector: OsmoHLR's sessions, multiplexed on one GSUP link (``link.py``), run
by the engine every dialect uses.

Every message names its subscriber's IMSI and a session id (unique per IMSI), and one
session's messages are run one after the other (a lock per session), sessions in
parallel. A BEGIN's MSISDN is asked of OsmoHLR (``subscribers.py``); a message becomes a
hop (``translate.py``), the engine runs it and commits, and only then is the answer written
to the link: nothing is acknowledged before its commit. A link that drops ends the sessions
it carried (the engine records an abort), so a session cut by an HLR restart or a stop of
the gateway ends cleanly rather than idling out. A message that cannot be read gets a
clean GSUP answer (an END with a Reject) where it names its session, and a log line; the
link and the other sessions go on.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

import structlog

from state.errors import StoreError
from state.locks import KeyedLocks
from state.msisdn import mask_msisdn
from ussd_gateway.dialects.model import Op, UssdReply, UssdRequest
from ussd_gateway.errors import BadRequest, GatewayBusy, PeerDecodeError
from ussd_gateway.gsup import facility, ipa, messages, translate
from ussd_gateway.gsup.facility import MAX_USSD_OCTETS
from ussd_gateway.gsup.link import GsupLink, Link, LinkCounters, LinkSettings, NoCounters
from ussd_gateway.gsup.messages import GsupMessage, MessageType
from ussd_gateway.gsup.subscribers import CtrlSubscribers, LookupFailed
from ussd_gateway.hop.engine import Engine

log = structlog.get_logger("ussd_gateway.gsup")

_SS_TYPES = frozenset(
    {MessageType.PROC_SS_REQUEST, MessageType.PROC_SS_RESULT, MessageType.PROC_SS_ERROR}
)


class Subscribers(Protocol):
    """Where an IMSI's MSISDN comes from (``subscribers.CtrlSubscribers``)."""

    async def msisdn(self, imsi: str) -> str | None: ...

    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class _Live:
    """A session this process is carrying: who, the invoke its final result answers, the
    engine's id of it, when its last message came."""

    msisdn: str
    pssr_invoke: int | None
    session_id: str
    seen: float

    def abort(self, hop_key: str) -> UssdRequest:
        """The hop that ends this session in the store (``hop_key``: why)."""
        return UssdRequest(
            dialect=translate.DIALECT,
            session_id=self.session_id,
            msisdn=self.msisdn,
            op=Op.ABORT,
            text="",
            hop_key=hop_key,
        )


class EuseConnector:
    """The gateway as an external USSD entity of one OsmoHLR."""

    def __init__(
        self,
        engine: Engine,
        subscribers: Subscribers,
        link: Link,
        *,
        counters: LinkCounters | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.subscribers = subscribers
        self.link = link
        self.counters: LinkCounters = counters or NoCounters()
        self.clock = clock
        self.gsup = GsupLink(
            link, on_message=self._message, on_lost=self._cut, counters=self.counters, clock=clock
        )
        self._sessions: dict[tuple[str, int], _Live] = {}
        self._locks = KeyedLocks()
        self._serials = itertools.count(1)

    @property
    def up(self) -> bool:
        """The link to OsmoHLR is made and identified."""
        return self.gsup.up

    def status(self) -> tuple[bool, dict[str, Any]]:
        """The readiness check's verdict and details (no address: the check names the peer
        by its role)."""
        details = {"euse": self.gsup.identity, "sessions": len(self._sessions)}
        return self.up, details | self.gsup.status()

    async def run(self) -> None:
        """Keep the link, forever (until cancelled)."""
        await self.gsup.run()

    async def close(self) -> None:
        """Let the hops in hand finish (their commits stand), then close the lookups."""
        await self.gsup.drain()
        await self.subscribers.close()

    async def _cut(self) -> None:
        """The link dropped: the sessions it carried end (an abort in the store); OsmoHLR
        answers them alone (or has forgotten them) until the link is back."""
        carried = list(self._sessions.values())
        self._sessions.clear()
        if carried:
            log.warning("gsup_sessions_cut", sessions=len(carried))
        for live in carried:
            with contextlib.suppress(StoreError, GatewayBusy, BadRequest):
                await self.engine.handle(live.abort("link-lost"))

    # --- a message ---------------------------------------------------------------------

    async def _message(self, payload: bytes) -> None:
        try:
            message = messages.decode(payload)
        except PeerDecodeError as exc:  # no IMSI to answer: only a log line
            self.counters.gsup_message("in", "undecodable")
            log.warning("gsup_undecodable", reason=exc.message, octets=len(payload))
            return
        if message.type not in _SS_TYPES or message.session_id is None:
            self.counters.gsup_message("in", "ignored")
            log.info("gsup_ignored", type=f"0x{message.type:02x}")
            return
        async with self._locks.hold(f"{message.imsi}:{message.session_id}"):
            try:
                await self._hop(message)
            except Exception:  # one session's surprise must not end the link or the others
                log.exception("gsup_hop_failed")
                self._send(translate.end_with_reject(message))

    async def _hop(self, message: GsupMessage) -> None:
        key = (message.imsi, message.session_id or 0)
        self.counters.gsup_message("in", _kind(message))
        begins = message.session_state is messages.SessionState.BEGIN and not message.is_error
        live = None if begins else self._sessions.get(key)
        if live is None and not begins:
            # Not a session of this process: one the HLR still has after the gateway
            # restarted, or one already ended here. Its position is in the store, but under
            # the id its BEGIN got, which died with the process that gave it.
            if not (message.is_error or message.session_state is messages.SessionState.END):
                self._refuse(message, "session_ended")
            return
        if live is not None:
            msisdn = live.msisdn
        else:
            self._forget_stale()
            try:
                found = await self.subscribers.msisdn(message.imsi)
            except LookupFailed as exc:
                log.warning("gsup_msisdn_lookup_failed", reason=str(exc))
                self._refuse(message, "temporarily_unavailable")
                return
            if found is None:
                self.counters.gsup_message("in", "unknown_imsi")
                log.info("gsup_unknown_imsi", imsi=_mask_imsi(message.imsi))
                self._refuse(message, "not_available")
                return
            msisdn = found
            # GSUP session ids are unique per IMSI only while the MSC runs (its counter
            # starts again with it): a BEGIN is always a new dialogue, so it gets an id of
            # its own, never the record of an earlier session under the same numbers.
            sid = translate.session_id(
                self.link.name,
                message.session_id or 0,
                int(self.clock() * 1000),
                next(self._serials),
            )
            live = _Live(msisdn, None, sid, self.clock())
        try:
            inbound = translate.read(message, msisdn, live.session_id)
        except PeerDecodeError as exc:
            self.counters.gsup_message("in", "undecodable")
            log.warning("gsup_facility_refused", reason=exc.message, msisdn=mask_msisdn(msisdn))
            if not begins:  # ended in the store before the network hears of it
                await self._abort(key, live)
            self._send(translate.end_with_reject(message))
            return
        request = inbound.request
        if self.link.max_ussd_octets < MAX_USSD_OCTETS:
            request = replace(request, screen_octets=self.link.max_ussd_octets)
        reply = await self._run(request)
        if begins:
            live = replace(live, pssr_invoke=inbound.invoke_id)
        if reply.ends or request.op in (Op.ABORT, Op.TIMEOUT):
            self._sessions.pop(key, None)
        else:
            self._sessions[key] = replace(live, seen=self.clock())
        try:
            out = translate.answer(
                message, request, reply, live.pssr_invoke, self.link.max_ussd_octets
            )
        except ValueError:  # a screen the engine did not page to the channel: a menu bug
            log.error("gsup_reply_too_long", length=reply.length, encoding=str(reply.encoding))
            invoke = translate.final_invoke(live.pssr_invoke)
            out = translate.end_with_error(message, invoke, facility.ERROR_SYSTEM_FAILURE)
            self._sessions.pop(key, None)
        if out is not None:
            self._send(out)

    def _forget_stale(self) -> None:
        """Drop sessions past the engine's total limit: OsmoHLR does not tell an EUSE of an
        END without a Facility (a hang-up) nor of its guard timer, and the engine ends such
        sessions in the store itself (the sweeper)."""
        oldest = self.clock() - self.engine.timeouts.total
        for key in [k for k, live in self._sessions.items() if live.seen < oldest]:
            del self._sessions[key]

    async def _run(self, request: UssdRequest) -> UssdReply:
        try:
            return await self.engine.handle(request)
        except StoreError as exc:
            log.warning("ussd_store_failed", error=type(exc).__name__, dialect=request.dialect)
            return self.engine.unavailable(request)
        except GatewayBusy:
            return self.engine.refusal(translate.DIALECT, "temporarily_unavailable")
        except BadRequest as exc:  # a number outside the plan from the HLR, say
            log.warning("gsup_hop_refused", reason=exc.message)
            return self.engine.refusal(translate.DIALECT, "not_available")

    async def _abort(self, key: tuple[str, int], live: _Live) -> None:
        self._sessions.pop(key, None)
        await self._run(live.abort("refused"))

    def _refuse(self, message: GsupMessage, key: str) -> None:
        reply = self.engine.refusal(translate.DIALECT, key)
        carried = None
        with contextlib.suppress(PeerDecodeError):  # answer the invoke it carries, if read
            if message.ss_info:
                carried = facility.decode(message.ss_info).invoke_id
        invoke = translate.final_invoke(carried)
        try:
            text = facility.fit(reply.text, self.link.max_ussd_octets)
            self._send(translate.end_with_text(message, invoke, text))
        except ValueError:  # the catalogue's refusal is longer than the channel carries
            self._send(translate.end_with_error(message, invoke, facility.ERROR_SYSTEM_FAILURE))

    def _send(self, message: GsupMessage) -> None:
        if not self.gsup.write(ipa.gsup_frame(messages.encode(message))):
            # Committed, not delivered: the HLR lost the session with the link.
            log.warning("gsup_reply_lost", reason="link down")
            return
        self.counters.gsup_message("out", _kind(message))


def euse_connector(
    engine: Engine, settings: LinkSettings, counters: LinkCounters | None = None
) -> EuseConnector | None:
    """The connector ``[osmocom]`` describes, None unless it is enabled (``app.py`` starts
    its task with the other background work)."""
    if not settings.enabled:
        return None
    subscribers = CtrlSubscribers(settings.hlr_host, settings.ctrl_port)
    return EuseConnector(engine, subscribers, Link.of(settings), counters=counters)


def _kind(message: GsupMessage) -> str:
    if message.is_error:
        return "error"
    state = message.session_state
    return state.name.lower() if state is not None else "none"


def _mask_imsi(imsi: str) -> str:
    """An IMSI in a log line: its network (MCC+MNC) and last two digits, at least three
    digits hidden (a shorter IMSI is all stars: its "network and last two" would be all of
    it)."""
    if len(imsi) < 10:
        return "*" * len(imsi)
    return imsi[:5] + "*" * (len(imsi) - 7) + imsi[-2:]
