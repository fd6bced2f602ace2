"""Pooled machine and model pairs: reused, reset between hops, dropped after a failure."""

from __future__ import annotations

from dataclasses import replace

import pytest
from support import snapshot

from state.credentials import PasswordHasher, Pepper
from state.models import ClosedBy
from ussd_gateway.menus.loader import load_catalog
from ussd_gateway.menus.machine import machine_class
from ussd_gateway.menus.model import HopServices, Notice
from ussd_gateway.menus.pool import MachinePool, _silent_entry

PEPPER = Pepper.from_hex("11" * 32)
SERVICES = HopServices(pepper=PEPPER, hasher=PasswordHasher(), now=1000.0, lock_alert="alert")
OPEN = snapshot(PEPPER.digest("12345678"))
CLOSED = replace(OPEN, closed_by=ClosedBy.SUBSCRIBER, closed_at=1.0)


def _pool() -> MachinePool:
    return MachinePool(load_catalog().menus["access"])


def test_a_pair_is_reused_after_a_final_state_and_starts_clean() -> None:
    """After a hop that ended in a final state, the same pair runs the next hop from scratch."""
    pool = _pool()
    with pool.lease(state=None, subscriber=OPEN, data={}, services=SERVICES) as (machine, model):
        machine.activate_initial_state()
        assert model.state == "menu_open"
        machine.send("close")
        machine.send("confirm")
        assert model.state == "closed_now"
        assert model.changes.subscribers  # the close was decided
        first = (machine, model)
    assert len(pool) == 1
    with pool.lease(state="ask_puk", subscriber=CLOSED, data={"x": 1}, services=SERVICES) as (
        machine,
        model,
    ):
        assert (machine, model) == first
        assert model.changes.subscribers == () and model.notice is None and model.data == {"x": 1}
        machine.send("submit", text="87654321")  # wrong PUK1: back to the prompt
        assert model.state == "ask_puk"
        assert model.notice == Notice("wrong_puk", {"attempts_left": 4})
    with pool.lease(state=None, subscriber=CLOSED, data={}, services=SERVICES) as (machine, model):
        machine.activate_initial_state()
        assert model.state == "menu_closed" and model.notice is None


def test_a_pair_whose_hop_failed_is_dropped() -> None:
    """An exception inside the lease keeps the pair out of the pool."""
    pool = _pool()
    with (
        pytest.raises(RuntimeError),
        pool.lease(state="menu_open", subscriber=OPEN, data={}, services=SERVICES),
    ):
        raise RuntimeError("commit failed")
    assert len(pool) == 0


def test_concurrent_leases_get_distinct_pairs() -> None:
    """Two hops at once never share a machine."""
    pool = _pool()
    with (
        pool.lease(state="menu_open", subscriber=OPEN, data={}, services=SERVICES) as a,
        pool.lease(state="menu_closed", subscriber=CLOSED, data={}, services=SERVICES) as b,
    ):
        assert a[0] is not b[0] and a[1] is not b[1]
        assert a[1].state == "menu_open" and b[1].state == "menu_closed"
    assert len(pool) == 2


def test_a_first_hop_starts_in_the_initial_state_only_when_entering_it_calls_nothing() -> None:
    """The shortcut past the library's initial microstep is taken only where it skips nothing."""
    quiet = {"name": "q", "states": {"a": {"initial": True, "transitions": [{"target": "b"}]},
                                     "b": {"final": True}}}  # fmt: skip
    loud = {"name": "l", "states": {"a": {"initial": True, "enter": "close_access",
                                          "transitions": [{"target": "b"}]},
                                    "b": {"final": True}}}  # fmt: skip
    assert _silent_entry(machine_class(quiet, "q")) == "a"
    assert _silent_entry(machine_class(loud, "l")) is None
    pool = _pool()
    with pool.lease(state=None, subscriber=OPEN, data={}, services=SERVICES) as (machine, model):
        assert model.state == "start"  # put there, not yet past its eventless transitions
        machine.activate_initial_state()
        assert model.state == "menu_open"
