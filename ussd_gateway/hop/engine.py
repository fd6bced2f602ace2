"""One USSD hop: find the session, restore its machine, feed the input, render, commit.

A hop reads the session and the subscriber in one store call and writes the core's
changes together with the session's new position and its reply in one transaction, so
an answered hop is durable and a repeated hop (same session, same hop key) gets the
stored reply without changing anything twice; a late resend of an older hop (its number
below the session's counter) gets the current screen and changes nothing. Hops of one
subscriber (all their sessions) are serialised in this process by a lock on the number,
and across processes by the session's hop counter and the subscriber's row version (a
conflict is retried with a short jittered pause).

The parts: ``hop_key.py`` (what is kept of a hop key; a cumulative text's new input),
``paging.py`` (the pages of a long screen), ``screen.py`` (an input's event, a screen's
reply), ``position.py`` (the session a hop writes), ``timeouts.py`` (the session limits),
``catalogs.py`` (after a reload, the catalogue each session started on).

A menu's back-end calls run inside the hop (``menus/calls.py``), within one budget for the
whole hop (``timeouts.HOP_BUDGET``, also across conflict retries); a call that failed, in a
menu that does not branch on it, ends the session with the apology and commits nothing the
machine had decided (``BackendUnavailable``). A repeated hop is answered from the store
before the machine runs, so it never repeats a call.

Over 300 lines: the hop's path reads top to bottom in one file (begin, continue, repeat,
expire, abort, a failed call); its parts are the modules named above.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog

from state.credentials import PasswordHasher, Pepper
from state.errors import InvalidMsisdn, KeptConflicting
from state.locks import KeyedLocks
from state.models import ChangeSet, Subscriber, UssdSession
from state.msisdn import mask_msisdn, normalize_msisdn
from state.retry import retry_conflicts
from state.store import HopStore
from ussd_gateway.dialects.model import Op, UssdReply, UssdRequest
from ussd_gateway.errors import BadRequest, GatewayBusy
from ussd_gateway.hop import paging, position
from ussd_gateway.hop.catalogs import Catalogs
from ussd_gateway.hop.hop_key import HopKey, this_input
from ussd_gateway.hop.languages import RecentLanguages
from ussd_gateway.hop.metrics import HopMetrics
from ussd_gateway.hop.screen import event_for, render
from ussd_gateway.hop.timeouts import HOP_BUDGET, SessionTimeouts
from ussd_gateway.menus.calls import Caller, NoBackends
from ussd_gateway.menus.loader import DEFAULT_LANGUAGE, Menu, MenuCatalog, compose_dialled
from ussd_gateway.menus.messages import APOLOGY
from ussd_gateway.menus.model import BackendUnavailable, HopServices
from ussd_gateway.menus.pool import MachinePool
from ussd_gateway.menus.render import reply

__all__ = ["MAX_DIAL_PARAMS", "Engine", "SessionTimeouts"]

MAX_DIAL_PARAMS = 1
"""A shortcut (``*141*3*6*1#``) may choose one step; it never answers that step's
question, so every change is confirmed on a screen the subscriber saw."""

_TIMEOUTS = SessionTimeouts()


log = structlog.get_logger("ussd_gateway.hop")


@dataclass(frozen=True, slots=True)
class _Result:
    reply: UssdReply
    service: str | None = None
    state: str | None = None
    outcome: str = "answered"
    """begun, answered, page, repeat, stale, expired, ended, refused, not_available, abort, …"""


async def _settle(value: Any) -> Any:
    """python-statemachine returns an awaitable only when a callback is async."""
    return await value if inspect.isawaitable(value) else value


class Engine:
    """Runs hops for every dialect against one store and one menu catalogue."""

    def __init__(
        self,
        *,
        store: HopStore,
        catalog: MenuCatalog,
        pepper: Pepper,
        hasher: PasswordHasher,
        timeouts: SessionTimeouts = _TIMEOUTS,
        clock: Callable[[], float] = time.time,
        metrics: HopMetrics | None = None,
        caller: Caller | None = None,
        hop_budget: float = HOP_BUDGET,
    ) -> None:
        self.store = store
        self.catalogs = Catalogs(catalog, keep=timeouts.total)
        self.pepper = pepper
        self.hasher = hasher
        self.timeouts = timeouts
        self.clock = clock
        self.metrics = metrics or HopMetrics()
        self.caller: Caller = caller or NoBackends()
        self.hop_budget = hop_budget
        self._locks = KeyedLocks()
        self._pools: dict[int, MachinePool] = {}
        self._languages = RecentLanguages()

    @property
    def catalog(self) -> MenuCatalog:
        """The catalogue new sessions run on."""
        return self.catalogs.current

    def install_catalog(self, catalog: MenuCatalog) -> None:
        """A reload: new sessions run on ``catalog`` from now, sessions in flight finish on
        the catalogue they started on (``catalogs.py``)."""
        self.catalogs.install(catalog, self.clock())

    def _pool(self, menu: Menu) -> MachinePool:
        # By the menu itself: after a reload two versions of a service run side by side.
        pool = self._pools.get(id(menu))
        if pool is None or pool.menu is not menu:
            live = {id(m) for c in self.catalogs.kept for m in c.menus.values()}
            self._pools = {k: p for k, p in self._pools.items() if k in live}
            pool = self._pools[id(menu)] = MachinePool(menu)
        return pool

    async def handle(self, req: UssdRequest) -> UssdReply:
        """Answer one hop.

        Raises:
            BadRequest: the request is malformed (an impossible number, a cumulative text
                that doesn't continue the session's).
            GatewayBusy: the session kept changing under us (another process).
        """
        started = time.perf_counter()
        try:
            msisdn = normalize_msisdn(req.msisdn)  # idempotent; dialects already normalised
        except InvalidMsisdn as exc:
            raise BadRequest(f"msisdn: {exc}") from None
        if req.number is not None and req.number > position.MAX_NUMBER:
            raise BadRequest(f"hop number above {position.MAX_NUMBER}")
        key = f"{req.dialect}:{req.session_id}"
        hop_key = HopKey.of(self.pepper, req.hop_key)  # once a hop: an HMAC, compared and kept
        deadline = time.monotonic() + self.hop_budget  # for every attempt: one budget a hop

        async def attempt() -> _Result:
            return await self._hop(key, req, msisdn, hop_key, deadline)

        # By the subscriber, not the session: racing sessions of one number would only
        # conflict on the subscriber's row (a session of another number is refused
        # without a write, so its lock is not needed).
        async with self._locks.hold(msisdn):
            try:
                result = await retry_conflicts(
                    attempt, on_conflict=self.metrics.conflicts.inc, what="the session"
                )
            except KeptConflicting:
                raise GatewayBusy("the session is being changed elsewhere; try again") from None
        elapsed = time.perf_counter() - started
        self.metrics.observe(req.dialect, result.service, result.outcome, elapsed)
        log.info(
            "ussd_hop",
            dialect=req.dialect,
            session_id=req.session_id,
            msisdn=mask_msisdn(msisdn),
            op=str(req.op),
            service=result.service,
            state=result.state,
            outcome=result.outcome,
            ends=result.reply.ends,
            encoding=str(result.reply.encoding),
            length=result.reply.length,
            ms=round(elapsed * 1000, 2),
        )
        return result.reply

    def unavailable(self, req: UssdRequest) -> UssdReply:
        """The END a hop gets while the store cannot be reached: "temporarily unavailable",
        in the subscriber's language when this process has seen the subscriber recently."""
        try:
            lang = self._languages.of(normalize_msisdn(req.msisdn))
        except InvalidMsisdn:
            lang = DEFAULT_LANGUAGE
        self.metrics.observe(req.dialect, None, "unavailable", 0.0)
        return self._end_text(None, "temporarily_unavailable", lang)

    def refusal(self, dialect: str, key: str, lang: str = DEFAULT_LANGUAGE) -> UssdReply:
        """An END with the catalogue's ``key`` text (``not_available``,
        ``temporarily_unavailable``): how a channel answers a hop it could not hand over,
        such as an IMSI the core knows no number for (``ussd_gateway/gsup/``)."""
        self.metrics.observe(dialect, None, key, 0.0)
        return self._end_text(None, key, lang)

    # --- the hop -------------------------------------------------------------------

    async def _hop(
        self, key: str, req: UssdRequest, msisdn: str, hop_key: HopKey, deadline: float
    ) -> _Result:
        now = self.clock()
        session, subscriber = await self.store.load_hop(key, msisdn)
        if subscriber is not None:
            self._languages.remember(msisdn, subscriber.lang)
        if session is None:
            return await self._begin(key, req, msisdn, subscriber, now, hop_key, deadline)
        if session.msisdn != msisdn:
            # Another number on a known session id: a forged or broken request.
            return _Result(self._end_text(None, "not_available", session.lang), outcome="refused")
        catalog = self.catalogs.for_session(session.started_at, now)
        menu = catalog.menus.get(session.service)
        if req.op in (Op.ABORT, Op.TIMEOUT):
            if session.ended:
                return _Result(reply("", ends=True), session.service, outcome="already_ended")
            ack = reply("", ends=True)
            await self._end(session, hop_key, ack, now, str(req.op), req.number)
            return _Result(ack, session.service, session.state, outcome=str(req.op))
        if hop_key.is_last_of(session):
            return _Result(
                UssdReply.from_dict(session.last_reply), session.service, session.state, "repeat"
            )
        if session.ended:
            ended = self._end_text(menu, "session_ended", session.lang, catalog)
            return _Result(ended, outcome="ended")
        if position.stale(session, req.number):
            # A late resend of an older hop: its reply is not kept, and an error or an END
            # would end a live session at the network. The current screen changes nothing
            # (not even the idle clock: an expired session still expires on its next hop)
            # and shows the subscriber where the session really is.
            return _Result(
                UssdReply.from_dict(session.last_reply), session.service, session.state, "stale"
            )
        if (
            now - session.updated_at > self.timeouts.idle
            or now - session.started_at > self.timeouts.total
            or menu is None
            or not menu.has_state(session.state)
            or subscriber is None
        ):
            expired = self._end_text(menu, "session_expired", session.lang, catalog)
            await self._end(session, hop_key, expired, now, "expired", req.number)
            return _Result(expired, session.service, session.state, "expired")
        text = this_input(req.text, session, self.pepper) if req.cumulative else req.text
        hop_id = f"{key}:{position.counter(session, req.number)}"
        services = self._services(catalog, session.lang, now, hop_id, deadline)
        try:
            return await self._continue(
                catalog,
                menu,
                session,
                subscriber,
                hop_key,
                text,
                now,
                req.number,
                services,
                req.screen_octets,
            )
        except BackendUnavailable:
            apology = self._apology(menu, session.lang, catalog)
            await self._end(session, hop_key, apology, now, APOLOGY, req.number)
            return _Result(apology, session.service, session.state, APOLOGY)

    async def _begin(
        self,
        key: str,
        req: UssdRequest,
        msisdn: str,
        sub: Subscriber | None,
        now: float,
        hop_key: HopKey,
        deadline: float,
    ) -> _Result:
        lang = sub.lang if sub else DEFAULT_LANGUAGE
        if req.op in (Op.ABORT, Op.TIMEOUT):
            return _Result(reply("", ends=True), outcome="abort_unknown")
        if req.op is Op.CONTINUE and not req.cumulative:
            return _Result(self._end_text(None, "session_expired", lang), outcome="unknown_session")
        dialled = (
            req.text if req.text.startswith("*") else compose_dialled(req.service_code, req.text)
        )
        # The catalogue of the session's start time, as its later hops will find it (a
        # reload while this hop read the store does not split the session over two).
        catalog = self.catalogs.for_session(now, now)
        resolved = catalog.resolve(dialled)
        if resolved is None or sub is None:
            # One text for an unknown code and an unknown number: nothing tells who exists.
            return _Result(self._end_text(None, "not_available", lang), outcome="not_available")
        menu, params = resolved
        services = self._services(catalog, lang, now, f"{key}:{max(1, req.number or 0)}", deadline)
        try:
            return await self._first_hop(
                catalog, menu, params, key, req, msisdn, sub, now, hop_key, services
            )
        except BackendUnavailable:
            apology = self._apology(menu, lang, catalog)
            session = position.begun(
                key=key,
                msisdn=msisdn,
                service=menu.name,
                state=str(menu.machine.initial_state.id) if menu.machine.initial_state else "",
                lang=lang,
                now=now,
                hop_key=hop_key,
                answer=apology,
                data={},
                pages=(),
                number=req.number,
                reason=APOLOGY,
            )
            await self.store.commit(ChangeSet(), session=session, session_hop_read=None)
            return _Result(apology, menu.name, outcome=APOLOGY)

    async def _first_hop(
        self,
        catalog: MenuCatalog,
        menu: Menu,
        params: list[str],
        key: str,
        req: UssdRequest,
        msisdn: str,
        sub: Subscriber,
        now: float,
        hop_key: HopKey,
        services: HopServices,
    ) -> _Result:
        lang = services.lang
        with self._pool(menu).lease(state=None, subscriber=sub, data={}, services=services) as (
            machine,
            model,
        ):
            await _settle(machine.activate_initial_state())
            for count, param in enumerate(params, start=1):
                if menu.ends_at(str(model.state)):
                    break  # nothing left to choose: the final screen is the honest answer
                screen = menu.screens.get(str(model.state))
                if screen is not None and screen.input is not None and screen.input.secret:
                    refusal = self._end_text(menu, "secret_in_dial_string", lang, catalog)
                    return _Result(refusal, menu.name, outcome="secret_in_dial_string")
                option = screen.option(param) if screen is not None else None
                if option is None or count > MAX_DIAL_PARAMS:
                    refusal = self._end_text(menu, "not_available", lang, catalog)
                    return _Result(refusal, menu.name, outcome="bad_shortcut")
                for name, value in option.sets.items():
                    model.save(name, value)
                await _settle(machine.send(option.event))
            answer, data, pages = render(catalog, menu, model, lang, req.screen_octets)
            state, changes = str(model.state), model.changes
        session = position.begun(
            key=key,
            msisdn=msisdn,
            service=menu.name,
            state=state,
            lang=lang,
            now=now,
            hop_key=hop_key,
            answer=answer,
            data=data,
            pages=pages,
            number=req.number,
        )
        await self.store.commit(changes, session=session, session_hop_read=None)
        return _Result(answer, menu.name, state, "begun")

    async def _continue(
        self,
        catalog: MenuCatalog,
        menu: Menu,
        session: UssdSession,
        sub: Subscriber,
        hop_key: HopKey,
        text: str,
        now: float,
        number: int | None,
        services: HopServices,
        octets: int | None = None,
    ) -> _Result:
        state = session.state
        final = menu.ends_at(state)
        page = paging.turn(session.pages, session.page, text, final)
        if page is not None:  # a page turned (or shown again): the machine is not asked
            answer = paging.show(session.pages, page, final)
            data, pages, changes, outcome = session.data, session.pages, ChangeSet(), "page"
        else:
            lang = session.lang
            # The model changes its data in place: it gets a copy, the session stays as read.
            with self._pool(menu).lease(
                state=state, subscriber=sub, data=dict(session.data), services=services
            ) as (machine, model):
                event = event_for(menu.screens[state], text, model)
                if event is not None:
                    await _settle(machine.send(event, text=text))
                answer, data, pages = render(catalog, menu, model, lang, octets)
                state, changes, page, outcome = str(model.state), model.changes, 0, "answered"
        moved = position.moved(
            session,
            hop_key=hop_key,
            answer=answer,
            now=now,
            state=state,
            data=data,
            pages=pages,
            page=page,
            number=number,
        )
        await self.store.commit(changes, session=moved, session_hop_read=session.hop)
        return _Result(answer, menu.name, state, outcome)

    # --- helpers -------------------------------------------------------------------

    def _services(
        self, catalog: MenuCatalog, lang: str, now: float, hop_id: str, deadline: float
    ) -> HopServices:
        return HopServices(
            pepper=self.pepper,
            hasher=self.hasher,
            now=now,
            lock_alert=catalog.lock_alert(lang),
            lang=lang,
            caller=self.caller,
            hop_id=hop_id,
            deadline=deadline,
        )

    def _end_text(
        self, menu: Menu | None, key: str, lang: str, catalog: MenuCatalog | None = None
    ) -> UssdReply:
        return reply((catalog or self.catalog).message(menu, key, lang), ends=True)

    def _apology(self, menu: Menu, lang: str, catalog: MenuCatalog) -> UssdReply:
        key = APOLOGY if catalog.has_message(menu, APOLOGY) else "temporarily_unavailable"
        return self._end_text(menu, key, lang, catalog)

    async def _end(
        self,
        session: UssdSession,
        hop_key: HopKey,
        answer: UssdReply,
        now: float,
        reason: str,
        number: int | None,
    ) -> None:
        """End a session the network or the clock ended; what it held is annulled."""
        ended = position.ended(
            session, hop_key=hop_key, answer=answer, now=now, reason=reason, number=number
        )
        await self.store.commit(ChangeSet(), session=ended, session_hop_read=session.hop)
