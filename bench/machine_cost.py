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
import inspect
import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from statemachine import StateChart
from statemachine.io import load

from state.credentials import PasswordHasher, Pepper
from state.models import ClientKind, ClosedBy, Subscriber
from ussd_gateway.menus.loader import Menu, load_catalog
from ussd_gateway.menus.model import HopServices, MenuModel
from ussd_gateway.menus.pool import MachinePool
from ussd_gateway.menus.source import read_menu_file

PEPPER = Pepper.from_hex("42" * 32)
SERVICES = HopServices(pepper=PEPPER, hasher=PasswordHasher(), now=1000.0, lock_alert="alert")
OPEN = Subscriber(
    msisdn="375291112233",
    client_id=1,
    client_kind=ClientKind.INDIVIDUAL,
    lang="ru",
    closed_by=None,
    closed_reason=None,
    closed_at=None,
    puk_failures=0,
    puk_locked_at=None,
    password_changed_at=None,
    version=1,
    puk_digest=PEPPER.digest("12345678"),
    password_hash=None,
)
CLOSED = replace(OPEN, closed_by=ClosedBy.SUBSCRIBER, closed_at=1.0)

Step = Callable[[StateChart[Any], MenuModel], Any]
STEPS: tuple[tuple[str, str | None, Subscriber, Step], ...] = (
    ("first hop (initial guards)", None, OPEN, lambda m, _: m.activate_initial_state()),
    ("send close", "menu_open", OPEN, lambda m, _: m.send("close", text="1")),
    ("send confirm (close decided)", "confirm_close", OPEN, lambda m, _: m.send("confirm")),
    ("send submit (wrong PUK1)", "ask_puk", CLOSED, lambda m, _: m.send("submit", text="1" * 8)),
)


def reference_class(menu: Menu) -> type[StateChart[Any]]:
    """What ``statemachine.io.load`` builds from the menu's own document."""
    path = next(p for p in _menu_paths() if read_menu_file(p).data["machine"]["name"] == menu.name)
    doc = read_menu_file(path).data["machine"]
    cls: type[StateChart[Any]] = load(json.dumps(doc), format="json")
    cls.catch_errors_as_events = False
    return cls


def _menu_paths() -> list[Any]:
    from ussd_gateway.menus.check import default_menu_paths

    return [p for p in default_menu_paths() if "machine" in read_menu_file(p).data]


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
    theirs = replace(ours, machine=reference_class(ours))
    print(f"{'access menu step':<32}{'io.load µs':>12}{'ours µs':>10}")
    for label, state, sub, step in STEPS:
        before = time_step(theirs, state, sub, step, args.rounds)
        after = time_step(ours, state, sub, step, args.rounds)
        print(f"{label:<32}{before:12.1f}{after:10.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
