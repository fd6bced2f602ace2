"""The menu machine's share of a hop: µs per step, the loader's class against ours.

    python -m bench.machine_cost [--rounds 3000]         (make bench-machine)

No HTTP, no store: a pooled machine and model (``menus/pool.py``) leased and driven the way
the engine drives them, for the steps of the ``*141*3*6#`` dialogue — the first hop (the
initial state's guards), choosing ``close``, confirming it (the core's close decision),
and a wrong PUK1 (an HMAC of it and the attempt counter). Each is timed for the class
``statemachine.io.load`` builds from the same document (the reference, what the gateway
ran before ``menus/machine.py``) and for the class the gateway runs now.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from statemachine import StateChart

from bench.run import PEPPER_HEX
from bench.seed import seed
from simulators import population
from state.credentials import PasswordHasher, Pepper
from state.models import ClosedBy, Subscriber
from state.sqlite import SqliteStore
from ussd_gateway.menus.loader import Menu, load_catalog
from ussd_gateway.menus.machine import loader_class
from ussd_gateway.menus.model import HopServices, MenuModel
from ussd_gateway.menus.pool import MachinePool

PEPPER = Pepper.from_hex(PEPPER_HEX)
SERVICES = HopServices(pepper=PEPPER, hasher=PasswordHasher(), now=1000.0, lock_alert="alert")

Step = Callable[[StateChart[Any], MenuModel], Any]
STEPS: tuple[tuple[str, str | None, bool, Step], ...] = (
    ("first hop (initial guards)", None, True, lambda m, _: m.activate_initial_state()),
    ("send close", "menu_open", True, lambda m, _: m.send("close", text="1")),
    ("send confirm (close decided)", "confirm_close", True, lambda m, _: m.send("confirm")),
    ("send submit (wrong PUK1)", "ask_puk", False, lambda m, _: m.send("submit", text="1" * 8)),
)
"""Label, the state the hop starts in, whether access is open, the step."""


async def subscriber_snapshot() -> Subscriber:
    """A benchmark subscriber as a hop reads it: seeded into a real store and read back."""
    with tempfile.TemporaryDirectory() as tmp:
        database = Path(tmp) / "machine.sqlite3"
        await seed(database, PEPPER, 1)
        store = await SqliteStore.open(database)
        try:
            found = await store.get_subscriber(population.msisdn(0))
        finally:
            await store.close()
    assert found is not None
    return found


def time_step(menu: Menu, state: str | None, sub: Subscriber, step: Step, rounds: int) -> float:
    """Median µs of one leased step, over ``rounds``."""
    pool = MachinePool(menu)
    spent: list[float] = []
    for _ in range(rounds):
        started = time.perf_counter()
        with pool.lease(state=state, subscriber=sub, data={}, services=SERVICES) as pair:
            # The access menu's callbacks are synchronous, so a step returns its result.
            assert not inspect.isawaitable(step(*pair))
        spent.append(time.perf_counter() - started)
    return statistics.median(spent) * 1e6


def main(argv: list[str] | None = None) -> int:
    """Print µs per step for both classes."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3000)
    args = parser.parse_args(argv)
    ours = load_catalog().menus["access"]
    theirs = replace(ours, machine=loader_class(ours.document))
    opened = asyncio.run(subscriber_snapshot())
    closed = replace(opened, closed_by=ClosedBy.SUBSCRIBER, closed_at=1.0)
    print(f"{'access menu step':<32}{'io.load µs':>12}{'ours µs':>10}")
    for label, state, is_open, step in STEPS:
        sub = opened if is_open else closed
        before = time_step(theirs, state, sub, step, args.rounds)
        after = time_step(ours, state, sub, step, args.rounds)
        print(f"{label:<32}{before:12.1f}{after:10.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
