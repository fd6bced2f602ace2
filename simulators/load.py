"""ussd-load: many virtual handsets running whole USSD sessions against a gateway, checked.

Each handset owns its own subscribers (``population``: handset h of N takes every N-th
index), so one subscriber is in one session at a time and every reply is predictable. A
handset loops: pick its next subscriber, run one dialogue through the chosen dialect, check
every screen (``load_check``), repeat until time is up; a session in progress is finished.

Dialogues (the mix): ``close`` (``*141*3*6#``, 1, 1), ``open`` (``*141*3*6#``, 2, PUK1),
``open_wrong`` (a wrong PUK1 first, then the right one, so no subscriber ever nears the
5-strike lock), ``password`` (``*141*0#``, the password twice), ``codes`` (``POST
/api/v1/codes``: 202, or 429 when the code policy's limits say no) and ``mo`` (``POST
/sms/mo`` JSON, HELP: the help text). A subscriber's access state is learnt from the first
``*141*3*6#`` screen and followed afterwards; after an error it is learnt again.

    ussd-load --url http://127.0.0.1:8080 --secret S --handsets 50 --seconds 20 [--json F]

The subscribers must be in the gateway's database first: ``--write-subscribers FILE`` writes
the run's population (``--first``, ``--subscribers``) as a file for ``ussd-gateway
subscribers import FILE`` (against ``make run``'s demo too; README, Performance).

Exit status: 0 no wrong replies, 1 some, 2 usage or connection error.

Over 300 lines: the load generator's handsets, their pacing, the latency histogram
and the report are one measurement and are kept together.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import json
import os
import random
import re
import sys
import time
import uuid
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

import aiohttp

from simulators import population
from simulators.dialects import Dialect, Screen, SimulatorError
from simulators.handset import Handset
from simulators.load_check import (
    ASK_PASSWORD,
    ASK_PUK,
    CLOSED_MENU,
    CLOSED_NOW,
    CONFIRM_CLOSE,
    OPEN_MENU,
    OPENED,
    PASSWORD_SET,
    REPEAT_PASSWORD,
    WRONG_PUK_ANY,
    WRONG_PUK_FIRST,
    Expect,
    WrongReply,
    check_http,
)
from simulators.load_stats import LoadStats, table
from simulators.version import version

ACCESS_CODE = "*141*3*6#"
PASSWORD_CODE = "*141*0#"  # noqa: S105 - the service code, not a password
PASSWORD = "lilac by the window"  # noqa: S105 - a benchmark subscriber's new password
PASSWORD_CLOSED = re.compile(r"^Доступ в Личный кабинет закрыт\. Открыть: \*141\*3\*6# и PUK1 ")
CODES_ALLOWED = {
    202: re.compile(r'^\{"status":"accepted"\}$'),
    429: re.compile(r'^\{"error":"too_many_requests"'),
}
MO_ALLOWED = {200: re.compile(r'^\{"reply":"Пароль: \*141\*0#\. Доступ: \*141\*3\*6#\. ')}
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Mix:
    """Relative weights of the dialogues; a subscriber's state narrows the choice."""

    close: float = 1.0
    open: float = 1.0
    open_wrong: float = 0.0
    password: float = 0.0
    codes: float = 0.0
    mo: float = 0.0

    @classmethod
    def parse(cls, text: str) -> Mix:
        """A named mix (``access``, ``full``) or ``close=2,open=2,password=1,…``."""
        if text in MIXES:
            return MIXES[text]
        names = {f.name for f in fields(cls)}
        weights: dict[str, float] = dict.fromkeys(names, 0.0)
        for part in text.split(","):
            name, _, value = part.partition("=")
            if name.strip() not in names:
                raise ValueError(f"unknown dialogue {name!r} (choose {', '.join(sorted(names))})")
            weights[name.strip()] = float(value or 1)
        return cls(**weights)


MIXES = {
    # The three-hop *141*3*6# dialogue both the gateway and the bare server speak.
    "access": Mix(),
    "full": Mix(close=3, open=2, open_wrong=1, password=1, codes=1, mo=1),
}


@dataclass(frozen=True, slots=True)
class LoadConfig:
    """One run's settings."""

    url: str
    handsets: int = 50
    seconds: float = 20.0
    warmup: float = 2.0
    dialect: str = Dialect.NATIVE
    mix: Mix = field(default_factory=Mix)
    subscribers: int = 100_000
    first: int = 0
    """Index of the first benchmark subscriber this run may use."""
    secret: str | None = None
    api_secret: str | None = None
    mo_secret: str | None = None
    password_rate: float = 0.0
    """Password sets started per second on a clock, beside the handsets (the hash test)."""
    timeout: float = 10.0
    seed: int = 1
    think: float = 0.0
    """Mean seconds a subscriber takes to read a screen and answer (0: a saturating load;
    real subscribers take seconds). Each pause is drawn uniformly from 0.5–1.5× the mean."""


@dataclass(frozen=True, slots=True)
class LoadResult:
    """What a run counted, over ``seconds`` of measurement."""

    stats: LoadStats
    seconds: float
    config: LoadConfig

    def summary(self) -> dict[str, Any]:
        return {
            "handsets": self.config.handsets,
            "dialect": str(self.config.dialect),
            "mix": {f.name: getattr(self.config.mix, f.name) for f in fields(Mix)},
            "password_rate": self.config.password_rate,
            "think": self.config.think,
            **self.stats.summary(self.seconds),
        }


class _Run:
    """The shared parts of one run: HTTP client, stats, what each subscriber's state is."""

    def __init__(self, config: LoadConfig, http: aiohttp.ClientSession) -> None:
        self.config = config
        self.http = http
        self.stats = LoadStats(recording=config.warmup <= 0)
        self.access: dict[int, bool] = {}
        """Subscriber index → access open; absent when unknown (learnt on the next dial)."""
        self.tainted: set[int] = set()
        """Subscribers an error left in an unknown state (PUK1 failures may be non-zero)."""
        self.busy: set[int] = set()

    async def timed(self, kind: str, work: Awaitable[T]) -> T:
        started = time.perf_counter()
        result = await work
        self.stats.hop(kind, time.perf_counter() - started)
        await self.think()
        return result

    async def think(self) -> None:
        if self.config.think > 0:
            # Spread the pauses so handsets do not move in lockstep; nothing secret here.
            await asyncio.sleep(self.config.think * (0.5 + random.random()))  # noqa: S311

    def handset(self, index: int) -> Handset:
        return Handset(
            self.http,
            url=self.config.url,
            msisdn=population.msisdn(index),
            dialect=self.config.dialect,
            secret=self.config.secret,
            timeout=self.config.timeout,
        )

    def choose(self, rng: random.Random, index: int) -> str:
        """The next dialogue for subscriber ``index``, given what its state allows."""
        mix = self.config.mix
        state = self.access.get(index)
        allowed: tuple[str, ...]
        if state is None:
            allowed = ("close", "open", "open_wrong", "password", "codes", "mo")
        elif state:
            allowed = ("close", "password", "codes", "mo")
        else:
            allowed = ("open", "codes", "mo") + (() if index in self.tainted else ("open_wrong",))
        names = [n for n in allowed if getattr(mix, n) > 0]
        if not names:
            # Nothing wanted fits this state: change the state (the access dialogue).
            return "close" if state else "open"
        return rng.choices(names, weights=[getattr(mix, n) for n in names])[0]

    async def session(self, kind: str, index: int) -> None:
        """Run one dialogue for one subscriber; a wrong reply or HTTP error is counted."""
        self.busy.add(index)
        phone = self.handset(index)
        try:
            if kind == "codes":
                await self._codes(index)
            elif kind == "mo":
                await self._mo(index)
            elif kind == "password":
                kind = await self._password(phone, index)
            else:
                kind = await self._access(phone, index, kind)
            self.stats.session(kind)
        except (WrongReply, SimulatorError) as exc:
            self.stats.error(kind, str(exc))
            self.access.pop(index, None)
            self.tainted.add(index)
            if phone.running:
                with contextlib.suppress(SimulatorError):
                    await phone.abort()
        finally:
            self.busy.discard(index)

    async def _step(self, kind: str, phone: Handset, work: Awaitable[Screen], exp: Expect) -> None:
        screen = await self.timed(kind, work)
        exp.check(screen, phone.reply)

    async def _access(self, phone: Handset, index: int, kind: str) -> str:
        state = self.access.get(index)
        started = time.perf_counter()
        screen = await phone.dial(ACCESS_CODE)
        spent = time.perf_counter() - started
        await self.think()
        if state is None:
            # Unknown: the menu says which it is; either menu is right.
            state = OPEN_MENU.pattern.search(screen.text) is not None
            kind = "close" if state else ("open" if kind == "close" else kind)
        self.stats.hop(kind, spent)
        (OPEN_MENU if state else CLOSED_MENU).check(screen, phone.reply)
        if state:
            await self._step(kind, phone, phone.send("1"), CONFIRM_CLOSE)
            await self._step(kind, phone, phone.send("1"), CLOSED_NOW)
            self.access[index] = False
            return "close"
        await self._step(kind, phone, phone.send("2"), ASK_PUK)
        if kind == "open_wrong":
            wrong = WRONG_PUK_ANY if index in self.tainted else WRONG_PUK_FIRST
            await self._step(kind, phone, phone.send(population.wrong_puk(index)), wrong)
        await self._step(kind, phone, phone.send(population.puk(index)), OPENED)
        self.access[index] = True
        self.tainted.discard(index)  # a right PUK1 resets the failure count
        return kind

    async def _password(self, phone: Handset, index: int) -> str:
        screen = await self.timed("password", phone.dial(PASSWORD_CODE))
        if self.access.get(index) is None and PASSWORD_CLOSED.search(screen.text) and screen.ends:
            self.access[index] = False  # closed before this run: open it next time
            return "password"
        ASK_PASSWORD.check(screen, phone.reply)
        self.access[index] = True
        await self._step("password", phone, phone.send(PASSWORD), REPEAT_PASSWORD)
        await self._step("password", phone, phone.send(PASSWORD), PASSWORD_SET)
        return "password"

    async def _codes(self, index: int) -> None:
        body = {"msisdn": population.msisdn(index), "purpose": "login"}
        status, reply = await self.timed(
            "codes", self._post("/api/v1/codes", body, self.config.api_secret)
        )
        check_http("codes", status, reply, CODES_ALLOWED)

    async def _mo(self, index: int) -> None:
        body = {
            "from": population.msisdn(index),
            "to": "141",
            "text": "HELP",
            "id": uuid.uuid4().hex,
        }
        path = "/sms/mo" + (f"?token={self.config.mo_secret}" if self.config.mo_secret else "")
        status, reply = await self.timed("mo", self._post(path, body, None))
        check_http("mo", status, reply, MO_ALLOWED)

    async def _post(self, path: str, doc: dict[str, str], secret: str | None) -> tuple[int, bytes]:
        headers = {"Authorization": f"Bearer {secret}"} if secret else {}
        try:
            async with self.http.post(
                self.config.url.rstrip("/") + path,
                json=doc,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.config.timeout),
            ) as response:
                return response.status, await response.read()
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise SimulatorError(f"{path}: {exc.__class__.__name__} {exc}") from None


def _owned(config: LoadConfig, slot: int, slots: int) -> Iterator[int]:
    """Subscriber indices of one slot, round and round."""
    mine = range(config.first + slot, config.first + config.subscribers, slots)
    if not mine:
        raise ValueError(f"{config.subscribers} subscribers cannot serve {slots} handsets")
    while True:
        yield from mine


async def _handset(run: _Run, slot: int, slots: int, deadline: float) -> None:
    # Reproducible choices of dialogue, nothing secret.
    rng = random.Random(run.config.seed * 1_000_003 + slot)  # noqa: S311
    loop = asyncio.get_running_loop()
    for index in _owned(run.config, slot, slots):
        if loop.time() >= deadline:
            return
        await run.session(run.choose(rng, index), index)


async def _pacer(run: _Run, slot: int, slots: int, deadline: float) -> None:
    """Start a password set every 1/rate seconds, however long earlier ones take."""
    loop = asyncio.get_running_loop()
    period = 1.0 / run.config.password_rate
    tasks: set[asyncio.Task[None]] = set()
    owned = _owned(run.config, slot, slots)
    next_at = loop.time()
    while next_at < deadline:
        await asyncio.sleep(max(0.0, next_at - loop.time()))
        index = next(owned)
        while index in run.busy:
            index = next(owned)
        run.busy.add(index)  # taken now, not when the task first runs
        kind = "password" if run.access.get(index, True) else "open"
        task = asyncio.create_task(run.session(kind, index))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        next_at += period
    await asyncio.gather(*tasks)


async def run_load(config: LoadConfig, http: aiohttp.ClientSession | None = None) -> LoadResult:
    """Run the handsets (and the password pacer) for warm-up plus ``seconds``."""
    async with contextlib.AsyncExitStack() as stack:
        if http is None:
            connector = aiohttp.TCPConnector(limit=0, force_close=False)
            http = await stack.enter_async_context(aiohttp.ClientSession(connector=connector))
        run = _Run(config, http)
        loop = asyncio.get_running_loop()
        start = loop.time()
        deadline = start + config.warmup + config.seconds
        slots = config.handsets + (1 if config.password_rate > 0 else 0)
        workers = [_handset(run, slot, slots, deadline) for slot in range(config.handsets)]
        if config.password_rate > 0:
            workers.append(_pacer(run, config.handsets, slots, deadline))
        tasks = [asyncio.create_task(w) for w in workers]
        measured_from = start
        if config.warmup > 0:
            await asyncio.sleep(config.warmup)
            run.stats.recording = True
            measured_from = loop.time()
        await asyncio.gather(*tasks)
        return LoadResult(run.stats, loop.time() - measured_from, config)


async def hold_sessions(
    url: str,
    indices: range,
    *,
    secret: str | None = None,
    dialect: str = Dialect.NATIVE,
    concurrency: int = 100,
) -> int:
    """Dial ``*141*3*6#`` for each subscriber and leave every session at its first screen.

    Returns how many dials did not get either access menu (0 when all are live).
    """
    errors = 0
    queue = iter(indices)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        config = LoadConfig(url=url, dialect=dialect, secret=secret)
        run = _Run(config, http)

        async def worker() -> None:
            nonlocal errors
            for index in queue:
                phone = run.handset(index)
                try:
                    screen = await phone.dial(ACCESS_CODE)
                    if not (
                        OPEN_MENU.pattern.search(screen.text)
                        or CLOSED_MENU.pattern.search(screen.text)
                    ):
                        errors += 1
                except SimulatorError:
                    errors += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return errors


def write_subscribers(path: Path, *, first: int, count: int) -> range:
    """Write subscribers ``first`` … ``first + count - 1`` as a CSV file for ``ussd-gateway
    subscribers import``: each one's number, PUK1, client (``bench-N``, as ``bench.seed``
    names them) and nothing else, so they start open, in Russian. Returns their indices."""
    indices = range(first, first + count)
    if not indices:
        raise ValueError("--subscribers must be at least 1")
    population.msisdn(indices[-1])  # in range, or a ValueError before anything is written
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as file:
        rows = csv.writer(file)
        rows.writerow(("msisdn", "puk1", "client_ref", "client_name"))
        for i in indices:
            number, puk = population.msisdn(i), population.puk(i)
            rows.writerow((number, puk, f"bench-{i}", f"Subscriber {i}"))
    return indices


# --- command line --------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ussd-load", description=__doc__.splitlines()[0])
    p.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    p.add_argument("--url", default="http://127.0.0.1:8080", help="the gateway (%(default)s)")
    p.add_argument("--handsets", type=int, default=50, help="handsets at once (%(default)s)")
    p.add_argument("--seconds", type=float, default=20.0, help="seconds measured (%(default)s)")
    p.add_argument("--warmup", type=float, default=2.0, help="seconds run but not counted")
    p.add_argument("--dialect", choices=[d.value for d in Dialect], default="native")
    p.add_argument("--mix", default="access", help="access, full, or close=1,open=1,password=1,…")
    p.add_argument(
        "--subscribers",
        type=int,
        default=100_000,
        help="how many subscribers the run uses (%(default)s); they must be imported",
    )
    p.add_argument("--first", type=int, default=0, help="index of the first subscriber")
    p.add_argument(
        "--write-subscribers",
        type=Path,
        metavar="FILE",
        help="write the subscribers of --first and --subscribers as a CSV file for "
        "`ussd-gateway subscribers import FILE`, and exit",
    )
    p.add_argument("--password-rate", type=float, default=0.0, help="paced password sets per s")
    p.add_argument("--think", type=float, default=0.0, help="mean seconds between screens")
    p.add_argument(
        "--secret",
        default=os.environ.get("USSD_GATEWAY_SECRET"),
        help="the dialect's caller secret (default: $USSD_GATEWAY_SECRET; none in demo mode)",
    )
    p.add_argument(
        "--api-secret",
        default=os.environ.get("USSD_GATEWAY_API_SECRET"),
        help="the front end's secret, for the codes dialogue (default: $USSD_GATEWAY_API_SECRET)",
    )
    p.add_argument(
        "--mo-secret",
        default=os.environ.get("USSD_GATEWAY_SMS_MO_SECRET"),
        help="the MO callback's secret, for the mo dialogue (default: $USSD_GATEWAY_SMS_MO_SECRET)",
    )
    p.add_argument("--json", type=Path, help="also write the figures to this file")
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``ussd-load``."""
    args = _parser().parse_args(argv)
    if args.write_subscribers is not None:
        try:
            indices = write_subscribers(
                args.write_subscribers, first=args.first, count=args.subscribers
            )
        except (ValueError, OSError) as exc:
            print(f"ussd-load: {exc}", file=sys.stderr)
            return 2
        print(
            f"wrote subscribers {indices[0]}–{indices[-1]} to {args.write_subscribers}; import "
            f"them with: ussd-gateway subscribers import {args.write_subscribers}"
        )
        return 0
    try:
        config = LoadConfig(
            url=args.url,
            handsets=args.handsets,
            seconds=args.seconds,
            warmup=args.warmup,
            dialect=args.dialect,
            mix=Mix.parse(args.mix),
            subscribers=args.subscribers,
            first=args.first,
            secret=args.secret,
            api_secret=args.api_secret,
            mo_secret=args.mo_secret,
            password_rate=args.password_rate,
            think=args.think,
        )
        result = asyncio.run(run_load(config))
    except ValueError as exc:
        print(f"ussd-load: {exc}", file=sys.stderr)
        return 2
    summary = result.summary()
    print(
        f"{config.handsets} handsets, {config.dialect}, {result.seconds:.1f} s against {config.url}"
    )
    print("\n".join(table(summary)))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    if summary["hops"] == 0:
        print("ussd-load: no hop was answered", file=sys.stderr)
        return 2
    return 1 if summary["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
