"""One USSD hop: find the session, restore its machine, feed the input, render, commit.

A hop reads the session and the subscriber in one store call and writes the core's
changes together with the session's new position and its reply in one transaction, so
an answered hop is durable and a repeated hop (same session, same hop key) gets the
stored reply without changing anything twice. Hops of one session are serialised in
this process by a lock and across processes by the session's hop counter.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import structlog

from state.credentials import PasswordHasher, Pepper
from state.errors import InvalidMsisdn, KeptConflicting
from state.models import ChangeSet, Subscriber, UssdSession
from state.msisdn import mask_msisdn, normalize_msisdn
from state.retry import retry_conflicts
from state.store import HopStore
from ussd_gateway.dialects.model import Op, UssdReply, UssdRequest
from ussd_gateway.errors import BadRequest, GatewayBusy
from ussd_gateway.hop.locks import KeyedLocks
from ussd_gateway.hop.metrics import HopMetrics
from ussd_gateway.menus.loader import DEFAULT_LANGUAGE, Menu, MenuCatalog, compose_dialled
from ussd_gateway.menus.model import HopServices, MenuModel, Notice
from ussd_gateway.menus.paginate import NAV_BACK, NAV_MORE, paginate
from ussd_gateway.menus.pool import MachinePool
from ussd_gateway.menus.render import fill, reply, screen_lines

MAX_DIAL_PARAMS = 1
"""A shortcut (``*141*3*6*1#``) may choose one step; it never answers that step's
question, so every change is confirmed on a screen the subscriber saw."""

_LANGUAGES_KEPT = 100_000
"""Subscribers whose language the outage END remembers: ~10 MiB at most, and the busy
subscribers of an instance are the ones that dial again while the database is away."""

log = structlog.get_logger("ussd_gateway.hop")


@dataclass(frozen=True, slots=True)
class SessionTimeouts:
    """How long a USSD session may idle and last (seconds)."""

    idle: float = 60.0
    total: float = 180.0


@dataclass(frozen=True, slots=True)
class _Result:
    reply: UssdReply
    service: str | None = None
    state: str | None = None
    outcome: str = "answered"
    """begun, answered, page, repeat, expired, ended, refused, not_available, abort, …"""


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
        timeouts: SessionTimeouts = SessionTimeouts(),
        clock: Callable[[], float] = time.time,
        metrics: HopMetrics | None = None,
    ) -> None:
        self.store = store
        self.catalog = catalog
        self.pepper = pepper
        self.hasher = hasher
        self.timeouts = timeouts
        self.clock = clock
        self.metrics = metrics or HopMetrics()
        self._locks = KeyedLocks()
        self._pools: dict[str, MachinePool] = {}
        self._languages: dict[str, str] = {}
        """Recently seen subscribers' languages, for the outage END (no store to ask then)."""

    def _pool(self, menu: Menu) -> MachinePool:
        pool = self._pools.get(menu.name)
        if pool is None or pool.menu is not menu:
            pool = self._pools[menu.name] = MachinePool(menu)
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
        key = f"{req.dialect}:{req.session_id}"
        tag = self._hop_tag(req.hop_key)  # once a hop: an HMAC, compared and stored

        async def attempt() -> _Result:
            return await self._hop(key, req, msisdn, tag)

        async with self._locks.hold(key):
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
            lang = self._languages.get(normalize_msisdn(req.msisdn), DEFAULT_LANGUAGE)
        except InvalidMsisdn:
            lang = DEFAULT_LANGUAGE
        self.metrics.observe(req.dialect, None, "unavailable", 0.0)
        return self._end_text(None, "temporarily_unavailable", lang)

    def _remember_language(self, msisdn: str, lang: str) -> None:
        languages = self._languages
        if languages.get(msisdn) == lang:
            return
        languages[msisdn] = lang
        if len(languages) > _LANGUAGES_KEPT:
            del languages[next(iter(languages))]  # the oldest: a dict keeps insertion order

    # --- the hop -------------------------------------------------------------------

    async def _hop(self, key: str, req: UssdRequest, msisdn: str, tag: str) -> _Result:
        now = self.clock()
        session, subscriber = await self.store.load_hop(key, msisdn)
        if subscriber is not None:
            self._remember_language(msisdn, subscriber.lang)
        if session is None:
            return await self._begin(key, req, msisdn, subscriber, now, tag)
        if session.msisdn != msisdn:
            # Another number on a known session id: a forged or broken request.
            return _Result(self._end_text(None, "not_available", session.lang), outcome="refused")
        menu = self.catalog.menus.get(session.service)
        if req.op in (Op.ABORT, Op.TIMEOUT):
            if session.ended:
                return _Result(reply("", ends=True), session.service, outcome="already_ended")
            ack = reply("", ends=True)
            await self._end_session(session, tag, ack, now, str(req.op))
            return _Result(ack, session.service, session.state, outcome=str(req.op))
        if tag == session.last_hop_key:
            return _Result(
                UssdReply.from_dict(session.last_reply), session.service, session.state, "repeat"
            )
        if session.ended:
            ended = self._end_text(menu, "session_ended", session.lang)
            return _Result(ended, outcome="ended")
        if (
            now - session.updated_at > self.timeouts.idle
            or now - session.started_at > self.timeouts.total
            or menu is None
            or not menu.has_state(session.state)
            or subscriber is None
        ):
            expired = self._end_text(menu, "session_expired", session.lang)
            await self._end_session(session, tag, expired, now, "expired")
            return _Result(expired, session.service, session.state, "expired")
        text = self._this_input(req, session)
        return await self._continue(menu, session, subscriber, tag, text, now)

    async def _begin(
        self,
        key: str,
        req: UssdRequest,
        msisdn: str,
        sub: Subscriber | None,
        now: float,
        tag: str,
    ) -> _Result:
        lang = sub.lang if sub else DEFAULT_LANGUAGE
        if req.op in (Op.ABORT, Op.TIMEOUT):
            return _Result(reply("", ends=True), outcome="abort_unknown")
        if req.op is Op.CONTINUE and not req.cumulative:
            return _Result(self._end_text(None, "session_expired", lang), outcome="unknown_session")
        dialled = (
            req.text if req.text.startswith("*") else compose_dialled(req.service_code, req.text)
        )
        resolved = self.catalog.resolve(dialled)
        if resolved is None or sub is None:
            # One text for an unknown code and an unknown number: nothing tells who exists.
            return _Result(self._end_text(None, "not_available", lang), outcome="not_available")
        menu, params = resolved
        services = self._services(menu, lang, now)
        with self._pool(menu).lease(state=None, subscriber=sub, data={}, services=services) as (
            machine,
            model,
        ):
            await _settle(machine.activate_initial_state())
            for count, param in enumerate(params, start=1):
                if model.state in menu.final_states:
                    break  # nothing left to choose: the final screen is the honest answer
                screen = menu.screens.get(str(model.state))
                if screen is not None and screen.input is not None and screen.input.secret:
                    refusal = self._end_text(menu, "secret_in_dial_string", lang)
                    return _Result(refusal, menu.name, outcome="secret_in_dial_string")
                option = screen.option(param) if screen is not None else None
                if option is None or count > MAX_DIAL_PARAMS:
                    refusal = self._end_text(menu, "not_available", lang)
                    return _Result(refusal, menu.name, outcome="bad_shortcut")
                await _settle(machine.send(option.event))
            answer, data = self._render(menu, model, lang)
            changes = model.changes
        session = UssdSession(
            id=key,
            msisdn=msisdn,
            service=menu.name,
            state=str(model.state),
            lang=lang,
            started_at=now,
            updated_at=now,
            hop=1,
            last_hop_key=tag,
            last_reply=answer.to_dict(),
            data=data,
            ended_at=now if answer.ends else None,
            end_reason="completed" if answer.ends else None,
        )
        await self.store.commit(changes, session=session, session_hop_read=None)
        return _Result(answer, menu.name, session.state, "begun")

    async def _continue(
        self,
        menu: Menu,
        session: UssdSession,
        sub: Subscriber,
        tag: str,
        text: str,
        now: float,
    ) -> _Result:
        data = dict(session.data)
        pages: list[str] | None = data.pop("pages", None)
        page = int(data.pop("page", 0))
        if pages:
            target = page + 1 if text == NAV_MORE else page - 1 if text == NAV_BACK else None
            final = session.state in menu.final_states
            if (target is not None and 0 <= target < len(pages)) or final:
                shown = page if target is None or not 0 <= target < len(pages) else target
                ends = final and shown == len(pages) - 1
                answer = reply(pages[shown], ends=ends)
                kept = {} if ends else {**data, "pages": pages, "page": shown}
                await self._save(session, tag, answer, now, session.state, kept)
                return _Result(answer, menu.name, session.state, "page")
        lang = session.lang
        services = self._services(menu, lang, now)
        with self._pool(menu).lease(
            state=session.state, subscriber=sub, data=data, services=services
        ) as (machine, model):
            event = self._event_for(menu, session.state, text, model)
            if event is not None:
                await _settle(machine.send(event, text=text))
            answer, kept = self._render(menu, model, lang)
            state, changes = str(model.state), model.changes
        await self._save(session, tag, answer, now, state, kept, changes)
        return _Result(answer, menu.name, state)

    # --- helpers -------------------------------------------------------------------

    def _event_for(self, menu: Menu, state: str, text: str, model: MenuModel) -> str | None:
        """The machine event an input means on this screen, or None with a notice set."""
        screen = menu.screens[state]
        if screen.options:
            option = screen.option(text.strip())
            if option is None:
                model.notice = Notice("invalid_choice")
                return None
            return option.event
        spec = screen.input
        if spec is None:
            return None
        too_long = spec.max_length is not None and len(text) > spec.max_length
        if too_long or (spec.pattern is not None and not spec.pattern.fullmatch(text)):
            model.notice = Notice(spec.invalid or "invalid_choice")
            return None
        return spec.event

    def _hop_tag(self, hop_key: str) -> str:
        """What is stored of a hop key: its length and a keyed tag, never the key itself
        (Africa's Talking's key is the cumulative text, with every PUK1 and password)."""
        return f"{len(hop_key)}:{self.pepper.tag('ussd-hop', hop_key)}"

    def _this_input(self, req: UssdRequest, session: UssdSession) -> str:
        if not req.cumulative:
            return req.text
        length = int(session.last_hop_key.partition(":")[0])
        if length == 0:
            return req.text
        previous, separator, new = (
            req.text[:length],
            req.text[length : length + 1],
            req.text[length + 1 :],
        )
        if separator != "*" or self._hop_tag(previous) != session.last_hop_key:
            raise BadRequest("text does not continue the session's previous inputs")
        return new

    def _services(self, menu: Menu, lang: str, now: float) -> HopServices:
        alert = menu.messages.get("puk_lock_alert")
        return HopServices(
            pepper=self.pepper,
            hasher=self.hasher,
            now=now,
            lock_alert=(alert.get(lang) or alert[DEFAULT_LANGUAGE]) if alert else "",
        )

    def _render(self, menu: Menu, model: MenuModel, lang: str) -> tuple[UssdReply, dict[str, Any]]:
        state = str(model.state)
        final = state in menu.final_states
        notice = None
        # A notice explains why a question is asked again; a final screen speaks for itself.
        if model.notice is not None and not final:
            notice = fill(self.catalog.message(menu, model.notice.key, lang), model.notice.values)
        lines = screen_lines(menu.screens[state], lang, notice=notice)
        pages = paginate(lines, self.catalog.navigation(lang), menu.limit)
        # A finished dialogue keeps nothing it was holding (a pending password hash).
        data: dict[str, Any] = {} if final else dict(model.data)
        if len(pages) == 1:
            return reply(pages[0], ends=final), data
        return reply(pages[0], ends=False), {**data, "pages": pages, "page": 0}

    def _end_text(self, menu: Menu | None, key: str, lang: str) -> UssdReply:
        return reply(self.catalog.message(menu, key, lang), ends=True)

    async def _save(
        self,
        session: UssdSession,
        tag: str,
        answer: UssdReply,
        now: float,
        state: str,
        data: dict[str, Any],
        changes: ChangeSet | None = None,
    ) -> None:
        updated = replace(
            session,
            state=state,
            data=data,
            updated_at=now,
            hop=session.hop + 1,
            last_hop_key=tag,
            last_reply=answer.to_dict(),
            ended_at=now if answer.ends else None,
            end_reason="completed" if answer.ends else None,
        )
        await self.store.commit(
            changes or ChangeSet(), session=updated, session_hop_read=session.hop
        )

    async def _end_session(
        self, session: UssdSession, tag: str, answer: UssdReply, now: float, reason: str
    ) -> None:
        """End a session the network or the clock ended; what it held is annulled."""
        ended = replace(
            session,
            data={},
            updated_at=now,
            hop=session.hop + 1,
            last_hop_key=tag,
            last_reply=answer.to_dict(),
            ended_at=now,
            end_reason=reason,
        )
        await self.store.commit(ChangeSet(), session=ended, session_hop_read=session.hop)
