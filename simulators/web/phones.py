"""A phone of the page: one handset, its timeline, its recording and a script it replays.

The handset speaks to the gateway with the dialect's secret, which stays here. What the
page gets back is a *view*: the screen as a handset shows it (text, encoding and length
against the limit, the page of a long menu, whether it asks for a secret), never an input.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from simulators.dialects import Dialect, Screen, SimulatorError
from simulators.handset import DEFAULT_TIMEOUT, Handset, HandsetError
from simulators.web.recording import Recorder
from simulators.web.replay import Replay
from simulators.web.timeline import Timeline

NAV_MORE, NAV_BACK = "98", "00"
"""The keys the gateway reserves on a long menu's pages (README, menus/common.yaml)."""
_NAV_LINE = re.compile(rf"^({NAV_MORE}|{NAV_BACK})\. ", re.MULTILINE)
MAX_PHONES = 32
"""Phones the server keeps (two per open page); the oldest goes first."""


@dataclass(frozen=True)
class GatewayLink:
    """Where the gateway is, and each dialect's caller secret (never sent to the page)."""

    url: str
    secrets: Mapping[str, str]
    timeout: float = DEFAULT_TIMEOUT


class Phone:
    """One handset on one subscriber and dialect, as the page drives it."""

    def __init__(self, http: aiohttp.ClientSession, link: GatewayLink, msisdn: str, dialect: str):
        self.id = secrets.token_urlsafe(9)
        self.lock = asyncio.Lock()
        """One action at a time: a double click must not send a hop twice at once."""
        self.timeline = Timeline()
        self.replay: Replay | None = None
        self._http = http
        self._link = link
        self.error = ""
        self.page = 0
        """The page of a long menu shown (1 the first), 0 when the screen has no pages."""
        self.recorder = Recorder(msisdn, dialect)
        self.handset = self._handset(msisdn, dialect)

    def _handset(self, msisdn: str, dialect: str) -> Handset:
        return Handset(
            self._http,
            url=self._link.url,
            msisdn=msisdn,
            dialect=dialect,
            secret=self._link.secrets.get(dialect),
            timeout=self._link.timeout,
            observe=self.timeline.add,
        )

    @property
    def msisdn(self) -> str:
        return self.handset.msisdn

    @property
    def dialect(self) -> str:
        return str(self.handset.codec.dialect)

    async def configure(self, msisdn: str, dialect: str) -> None:
        """Another subscriber or dialect: the running session is aborted, recording restarts."""
        if (msisdn, dialect) == (self.msisdn, self.dialect):
            return
        await self.end()
        self.handset = self._handset(msisdn, dialect)
        self.recorder = Recorder(msisdn, dialect)
        self.error, self.page = "", 0

    async def dial(self, code: str) -> None:
        screen = await self._act(self.handset.dial(code))
        if screen is not None:
            self.page = 1 if _NAV_LINE.search(screen.text) else 0
            self.recorder.add("dial", code, screen)

    async def send(self, text: str) -> None:
        secret = self.handset.asks_for_secret
        shown_before = self.handset.screen
        screen = await self._act(self.handset.send(text))
        if screen is not None:
            self.page = _next_page(self.page, shown_before, text, screen)
            self.recorder.add("send", text, screen, secret=secret)

    async def abort(self) -> None:
        """Cancel: the session is aborted; the last screen stays on the display."""
        if not self.handset.running:
            raise HandsetError("no session is running")
        # The display keeps the screen, greyed, until the next dial.
        await self._act(self.handset.abort(keep_screen=True))
        self.recorder.add("abort", "", None)
        if not self.error:
            self.timeline.settle("aborted")

    async def end(self) -> None:
        """The red key: abort a running session, clear the display."""
        if self.handset.running:
            await self.abort()
        self.handset.screen = None
        self.error, self.page = "", 0

    def restart_recording(self) -> None:
        self.recorder = Recorder(self.msisdn, self.dialect)

    async def replay_step(self) -> dict[str, Any]:
        if self.replay is None:
            raise HandsetError("no script loaded")
        if self.replay.next_index == 0:
            script = self.replay.script
            await self.configure(script.msisdn or self.msisdn, script.dialect or self.dialect)
            await self.end()
        before = self.handset.screen
        result = await self.replay.step(self.handset)
        after = self.handset.screen
        if after is not None and after is not before:
            self.page = 1 if _NAV_LINE.search(after.text) else 0
        self.timeline.settle(_outcome(after) if after else "aborted")
        return result

    async def _act(self, action: Awaitable[Screen | None]) -> Screen | None:
        """Run a handset action; a gateway or connection error is shown, not raised."""
        self.error = ""
        try:
            screen = await action
        except SimulatorError as exc:
            self.error = str(exc)
            self.timeline.settle(self.error)
            self.page = 0
            return None
        if screen is not None:
            self.timeline.settle(_outcome(screen))
        return screen

    def view(self) -> dict[str, Any]:
        """What the page shows: never an input, never a secret."""
        screen = self.handset.screen
        shown: dict[str, Any] | None = None
        if screen is not None:
            shown = {
                "text": screen.text,
                "ends": screen.ends,
                "encoding": str(screen.encoding),
                "label": screen.label(),
                "length": screen.length,
                "limit": screen.limit,
                "fits": screen.fits,
                "more": _offers(screen, NAV_MORE),
                "back": _offers(screen, NAV_BACK),
            }
        return {
            "id": self.id,
            "msisdn": self.msisdn,
            "dialect": self.dialect,
            "running": self.handset.running,
            "secret": self.handset.asks_for_secret and self.handset.running,
            "screen": shown,
            "page": self.page,
            "error": self.error,
            "recorded": len(self.recorder.steps),
        }


def _outcome(screen: Screen) -> str:
    return "end" if screen.ends else "continue"


def _offers(screen: Screen, key: str) -> bool:
    """Whether ``screen`` has the navigation line ``key`` (``98. Далее``)."""
    return any(m.group(1) == key for m in _NAV_LINE.finditer(screen.text))


def _next_page(page: int, before: Screen | None, sent: str, after: Screen) -> int:
    """The page after ``sent``: 98 turns forward and 00 back on a paged menu."""
    if not _NAV_LINE.search(after.text):
        return 0
    paged_before = before is not None and _NAV_LINE.search(before.text)
    if paged_before and sent == NAV_MORE:
        return page + 1
    if paged_before and sent == NAV_BACK:
        return max(1, page - 1)
    return 1


class PhoneBook:
    """The phones of every open page, by id; the oldest is forgotten past :data:`MAX_PHONES`."""

    def __init__(self, http: aiohttp.ClientSession, link: GatewayLink) -> None:
        self.http = http
        self.link = link
        self._phones: OrderedDict[str, Phone] = OrderedDict()

    def new(self, msisdn: str, dialect: str | Dialect) -> Phone:
        phone = Phone(self.http, self.link, msisdn, str(dialect))
        self._phones[phone.id] = phone
        while len(self._phones) > MAX_PHONES:
            self._phones.popitem(last=False)
        return phone

    def get(self, phone_id: str) -> Phone | None:
        phone = self._phones.get(phone_id)
        if phone is not None:
            self._phones.move_to_end(phone_id)
        return phone
