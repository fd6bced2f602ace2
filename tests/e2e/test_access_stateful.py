"""*141*3*6# against a plain reference model: random sessions, operator actions and dialects.

Each generated case gets its own database file, seeded with conftest's subscribers, and the
real gateway on a loopback port, driven by the simulator's handsets. A :class:`AccessModel`
written here from the rules in ``state/access.py`` and ``menus/access.yaml`` predicts every
screen and the stored subscriber after every step.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestServer
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from support import (
    CLOSED_SELF,
    DIALECTS,
    OPEN_EN,
    OPEN_RU,
    PEPPER_HEX,
    SECRETS,
    SUBSCRIBERS,
    WRONG_PUKS,
    FakeClock,
    seed,
)
from support import SeededSubscriber as Seeded

from account.operator import AccountService
from simulators.handset import Handset
from state.credentials import Pepper
from state.models import Channel, ClosedBy
from state.sqlite import SqliteStore
from ussd_gateway.app import create_app
from ussd_gateway.config import Secret, Settings
from ussd_gateway.menus.loader import load_catalog

SERVICE = "*141*3*6#"
SHORTCUTS = {"1": "*141*3*6*1#", "2": "*141*3*6*2#"}
PUK_ATTEMPTS = 5
RANK = {None: 0, "subscriber": 1, "organisation": 2, "operator": 3}
MALFORMED_PUKS = ("1234567", "123456789", "12ab5678")

CATALOG = load_catalog()
MENU = CATALOG.menus["access"]


# --- the reference model ----------------------------------------------------------------------


@dataclass
class Account:
    """What the model knows of one subscriber."""

    closed_by: str | None
    failures: int = 0
    locked: bool = False
    alerts: int = 0


class AccessModel:
    """The rules, plainly: who closed, who may open, and the PUK1 counter."""

    def __init__(self, subscribers: tuple[Seeded, ...]) -> None:
        self.accounts = {
            s.msisdn: Account(str(s.closed_by) if s.closed_by else None) for s in subscribers
        }

    def first_state(self, msisdn: str) -> str:
        """The state *141*3*6# opens on."""
        closed_by = self.accounts[msisdn].closed_by
        return {
            "operator": "closed_by_operator",
            "organisation": "closed_by_organisation",
            None: "menu_open",
        }.get(closed_by, "menu_closed")

    def choose(self, msisdn: str, state: str, key: str) -> str:
        """The state after choosing ``key`` on ``state``."""
        account = self.accounts[msisdn]
        if state == "menu_open":
            return {"1": "confirm_close", "2": "already_open"}[key]
        if state == "menu_closed":
            if key == "1":
                return "already_closed"
            return "puk_locked" if account.locked else "ask_puk"
        if state == "confirm_close":
            if key == "1":
                self.close(msisdn, "subscriber")
                return "closed_now"
            return "kept_open"
        raise AssertionError(f"no choice on {state}")

    def close(self, msisdn: str, by: str) -> str:
        """A closure by ``by``: a higher source takes over, the same or lower changes nothing."""
        account = self.accounts[msisdn]
        if RANK[account.closed_by] >= RANK[by]:
            return "already_closed"
        account.closed_by = by
        return "closed"

    def open(self, msisdn: str, by: str) -> str:
        """Lifting a closure: only by its own source or a higher one."""
        account = self.accounts[msisdn]
        if account.closed_by is None:
            return "already_open"
        if RANK[account.closed_by] > RANK[by]:
            return "not_permitted"
        account.closed_by = None
        return "opened"

    def puk(self, msisdn: str, right: bool) -> str:
        """A PUK1 typed on the prompt (only reachable when the subscriber closed it)."""
        account = self.accounts[msisdn]
        assert account.closed_by == "subscriber" and not account.locked
        if right:
            account.closed_by = None
            account.failures = 0
            return "opened"
        account.failures += 1
        if account.failures >= PUK_ATTEMPTS:
            account.locked = True
            account.alerts += 1
            return "locked_now"
        return "ask_puk"

    def unlock(self, msisdn: str) -> str:
        """The operator clears the counter and the lock."""
        account = self.accounts[msisdn]
        if not account.locked and account.failures == 0:
            return "not_locked"
        account.failures = 0
        account.locked = False
        return "unlocked"


# --- what the menus say ----------------------------------------------------------------------


def _pick(texts: dict[str, str], lang: str) -> str:
    return texts.get(lang) or texts["ru"]


def expected_screen(state: str, lang: str, notice: str | None = None) -> str:
    """The text menus/access.yaml gives ``state``: notice, text, then numbered options."""
    screen = MENU.screens[state]
    lines = [notice] if notice else []
    lines.append(_pick(dict(screen.text), lang))
    lines += [f"{o.key}. {_pick(dict(o.label), lang)}" for o in screen.options]
    return "\n".join(lines)


def message(key: str, lang: str, **values: object) -> str:
    """A message of the access menu with its placeholders filled."""
    text = _pick(dict(MENU.messages[key]), lang)
    for name, value in values.items():
        text = text.replace("{" + name + "}", str(value))
    return text


def is_final(state: str) -> bool:
    return state in MENU.final_states


# --- the machine -------------------------------------------------------------------------------

# The three whose access the subscriber can change come up more often.
subscribers = st.one_of(
    st.sampled_from([OPEN_RU, CLOSED_SELF, OPEN_EN]), st.sampled_from(SUBSCRIBERS)
)
dialects = st.sampled_from(DIALECTS)
authorities = st.sampled_from([ClosedBy.ORGANISATION, ClosedBy.OPERATOR])
wrong = st.sampled_from(WRONG_PUKS).map(lambda p: ("wrong", p))
attempt = st.one_of(
    wrong, wrong, wrong, st.sampled_from(MALFORMED_PUKS).map(lambda p: ("malformed", p))
)


class AccessMachine(RuleBasedStateMachine):
    """Subscribers, their organisation and the operator take turns on one database."""

    def __init__(self) -> None:
        super().__init__()
        self.model = AccessModel(SUBSCRIBERS)
        self.clock = FakeClock()
        self.pepper = Pepper.from_hex(PEPPER_HEX)
        self.tmp = Path(tempfile.mkdtemp(prefix="access-stateful-"))
        self.settings = Settings(
            database=self.tmp / "gateway.sqlite3",
            puk_pepper=Secret(PEPPER_HEX),
            dialect_secrets={name: Secret(value) for name, value in SECRETS.items()},
        )
        self.runner = asyncio.Runner()
        self.store: SqliteStore | None = None
        self.server: TestServer | None = None
        self.http: aiohttp.ClientSession | None = None
        try:
            self.runner.run(self._start())
        except BaseException:
            self.teardown()
            raise

    async def _start(self) -> None:
        self.store = await SqliteStore.open(self.settings.database)
        await seed(self.store, self.pepper, SUBSCRIBERS)
        self.service = AccountService(self.store, clock=self.clock)
        self.server = TestServer(create_app(self.settings, clock=self.clock), host="127.0.0.1")
        await self.server.start_server()
        self.http = aiohttp.ClientSession()

    async def _stop(self) -> None:
        if self.http is not None:
            await self.http.close()
        if self.server is not None:
            await self.server.close()
        if self.store is not None:
            await self.store.close()

    def teardown(self) -> None:
        """Close the client, the server and the store; drop the case's files."""
        try:
            self.runner.run(self._stop())
        finally:
            self.runner.close()
            shutil.rmtree(self.tmp, ignore_errors=True)

    def _phone(self, sub: Seeded, dialect: str) -> Handset:
        assert self.server is not None and self.http is not None
        return Handset(
            self.http,
            url=str(self.server.make_url("")),
            msisdn=sub.msisdn,
            dialect=dialect,
            secret=SECRETS[dialect],
        )

    async def _expect(
        self,
        phone: Handset,
        action: str,
        arg: str,
        sub: Seeded,
        state: str,
        notice: str | None = None,
    ) -> None:
        """Dial or send ``arg``; the screen must be ``state``'s text, ending iff it is final."""
        screen = await (phone.dial(arg) if action == "dial" else phone.send(arg))
        shown = "<PUK1>" if action == "send" and len(arg) == 8 and arg.isdigit() else arg
        want = expected_screen(state, sub.lang, notice)
        assert screen.text == want, f"{action} {shown}: got {screen.text!r}, want {state}"
        assert screen.ends is is_final(state), f"{action} {shown}: ends={screen.ends} on {state}"
        assert screen.fits, f"{action} {shown}: screen over the USSD limit"
        if screen.ends:
            event(f"final screen: {state}")

    async def _enter(self, phone: Handset, sub: Seeded, key: str, shortcut: bool) -> str:
        """Dial the menu and choose ``key`` (or dial its shortcut); the state reached."""
        state = self.model.first_state(sub.msisdn)
        if shortcut:
            # A shortcut chooses the step on the first screen; a final one is shown as it is.
            if not is_final(state):
                state = self.model.choose(sub.msisdn, state, key)
            await self._expect(phone, "dial", SHORTCUTS[key], sub, state)
            return state
        await self._expect(phone, "dial", SERVICE, sub, state)
        if is_final(state):
            return state
        state = self.model.choose(sub.msisdn, state, key)
        await self._expect(phone, "send", key, sub, state)
        return state

    # --- rules ---------------------------------------------------------------------------

    @rule(sub=subscribers, dialect=dialects, shortcut=st.booleans(), confirm=st.booleans())
    def subscriber_closes(self, sub: Seeded, dialect: str, shortcut: bool, confirm: bool) -> None:
        """The subscriber chooses 1 and confirms (1) or cancels (2)."""

        async def run() -> None:
            phone = self._phone(sub, dialect)
            state = await self._enter(phone, sub, "1", shortcut)
            if state == "confirm_close":
                key = "1" if confirm else "2"
                state = self.model.choose(sub.msisdn, state, key)
                await self._expect(phone, "send", key, sub, state)

        self.runner.run(run())

    async def _reopen(
        self,
        sub: Seeded,
        dialect: str,
        shortcut: bool,
        attempts: list[tuple[str, str]],
        finish: str,
    ) -> None:
        phone = self._phone(sub, dialect)
        state = await self._enter(phone, sub, "2", shortcut)
        if state != "ask_puk":
            return
        for kind, typed in attempts:
            if kind == "malformed":
                notice = message("puk_format", sub.lang)
                await self._expect(phone, "send", typed, sub, "ask_puk", notice)
                continue
            state = self.model.puk(sub.msisdn, right=False)
            if state == "locked_now":
                await self._expect(phone, "send", typed, sub, state)
                return
            left = PUK_ATTEMPTS - self.model.accounts[sub.msisdn].failures
            notice = message("wrong_puk", sub.lang, attempts_left=left)
            await self._expect(phone, "send", typed, sub, "ask_puk", notice)
        if finish == "right":
            state = self.model.puk(sub.msisdn, right=True)
            await self._expect(phone, "send", sub.puk, sub, state)
        elif finish == "abort":
            await phone.abort()
        # "leave": the handset just goes quiet; the session stays open on the gateway.

    @rule(
        sub=subscribers,
        dialect=dialects,
        shortcut=st.booleans(),
        attempts=st.lists(attempt, max_size=3),
        finish=st.sampled_from(["right", "abort", "leave"]),
    )
    def subscriber_reopens(
        self,
        sub: Seeded,
        dialect: str,
        shortcut: bool,
        attempts: list[tuple[str, str]],
        finish: str,
    ) -> None:
        """The subscriber chooses 2, maybe mistypes PUK1, then types the right one or stops."""
        self.runner.run(self._reopen(sub, dialect, shortcut, attempts, finish))

    @rule(
        sub=subscribers,
        dialect=dialects,
        shortcut=st.booleans(),
        attempts=st.lists(attempt, min_size=1, max_size=6),
        finish=st.sampled_from(["abort", "leave"]),
    )
    def subscriber_guesses(
        self,
        sub: Seeded,
        dialect: str,
        shortcut: bool,
        attempts: list[tuple[str, str]],
        finish: str,
    ) -> None:
        """The subscriber chooses 2 and types only wrong or malformed PUK1s, then gives up."""
        self.runner.run(self._reopen(sub, dialect, shortcut, attempts, finish))

    @rule(sub=subscribers, by=authorities)
    def authority_closes(self, sub: Seeded, by: ClosedBy) -> None:
        """The operator (or the organisation) closes access, as the CLI does."""
        want = self.model.close(sub.msisdn, str(by))
        decision = self.runner.run(
            self.service.close_access(
                sub.msisdn, by=by, actor=f"test-{by}", channel=Channel.CLI, reason="stateful"
            )
        )
        assert str(decision.outcome) == want

    @rule(sub=subscribers, by=authorities)
    def authority_opens(self, sub: Seeded, by: ClosedBy) -> None:
        """The operator (or the organisation) lifts a closure of its rank or below."""
        want = self.model.open(sub.msisdn, str(by))
        decision = self.runner.run(
            self.service.open_access(
                sub.msisdn, by=by, actor=f"test-{by}", channel=Channel.CLI, reason="stateful"
            )
        )
        assert str(decision.outcome) == want

    @rule(sub=subscribers)
    def operator_unlocks(self, sub: Seeded) -> None:
        """The operator lifts a PUK1 lock (and clears the counter)."""
        want = self.model.unlock(sub.msisdn)
        decision = self.runner.run(
            self.service.unlock_puk(sub.msisdn, actor="test-operator", channel=Channel.CLI)
        )
        assert str(decision.outcome) == want

    # --- the store agrees with the model ---------------------------------------------------

    @invariant()
    def store_matches_model(self) -> None:
        """Every stored subscriber has the model's closure source, counter, lock and alerts."""

        async def check() -> None:
            assert self.store is not None
            for sub in SUBSCRIBERS:
                account = self.model.accounts[sub.msisdn]
                row = await self.store.get_subscriber(sub.msisdn)
                assert row is not None
                got = (
                    str(row.closed_by) if row.closed_by else None,
                    row.puk_failures,
                    row.puk_locked,
                )
                want = (account.closed_by, account.failures, account.locked)
                assert got == want, f"{sub.msisdn}: stored {got}, model {want}"
                alerts = [
                    m for m in await self.store.outbox(sub.msisdn) if m.kind == "puk_locked_alert"
                ]
                assert len(alerts) == account.alerts
                assert all(m.body == message("puk_lock_alert", sub.lang) for m in alerts)

        self.runner.run(check())


class TestAccessStateful(AccessMachine.TestCase):  # type: ignore[misc, valid-type]
    """Random interleavings of subscriber sessions and operator actions match the model."""

    settings = settings(
        max_examples=30,
        stateful_step_count=30,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
