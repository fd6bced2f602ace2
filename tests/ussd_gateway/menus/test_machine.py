"""The menu machine class (``menus/machine.py``) against the one ``statemachine.io.load`` builds.

Both classes come from the same YAML document; ours attaches guards as name references and
drops the loader's system-variable hook. For every shipped menu, any subscriber and any
inputs, hop after hop through the pool (as the engine drives them), both must reach the
same states with the same decisions, notices and session data.
"""

from __future__ import annotations

import asyncio
import inspect
import re
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import snapshot

from state.credentials import PasswordHasher, Pepper
from state.models import ClosedBy, Subscriber
from ussd_gateway.menus.callbacks import ACTIONS, GUARDS
from ussd_gateway.menus.loader import Menu, load_catalog
from ussd_gateway.menus.machine import loader_class
from ussd_gateway.menus.model import HopServices, MenuModel
from ussd_gateway.menus.pool import MachinePool

PEPPER = Pepper.from_hex("11" * 32)
PUK = "12345678"
# The cheapest argon2id the library allows: the test is about the machine, not the hash.
SERVICES = HopServices(
    pepper=PEPPER,
    hasher=PasswordHasher(time_cost=1, memory_cost_kib=8),
    now=1000.0,
    lock_alert="alert",
)
OPEN = snapshot(PEPPER.digest(PUK))
SUBSCRIBERS = (
    OPEN,
    replace(OPEN, closed_by=ClosedBy.SUBSCRIBER, closed_at=1.0),
    replace(OPEN, closed_by=ClosedBy.SUBSCRIBER, closed_at=1.0, puk_failures=4),
    replace(OPEN, closed_by=ClosedBy.SUBSCRIBER, closed_at=1.0, puk_locked_at=2.0),
    replace(OPEN, closed_by=ClosedBy.ORGANISATION, closed_at=1.0),
    replace(OPEN, closed_by=ClosedBy.OPERATOR, closed_at=1.0),
)
INPUTS = ("1", "2", "3", PUK, "87654321", "Secret-pass-1", "Other-pass-2", "short", "")
CATALOG = load_catalog()
_HASH = re.compile(r"\$argon2id\$[^'\"]*")


def reference(menu: Menu) -> Menu:
    """The same menu on the class the library's loader builds from its document."""
    return replace(menu, machine=loader_class(menu.document))


async def _settle(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


async def drive(
    pool: MachinePool, subscriber: Subscriber, inputs: list[str], *, fresh: bool = False
) -> list[str]:
    """Hop by hop as the engine does (a pooled pair per hop); what each hop left behind.

    ``fresh``: every hop on a newly built machine instead (no reuse at all).
    """
    menu = pool.menu
    state: str | None = None
    data: dict[str, Any] = {}
    trace: list[str] = []
    for text in [None, *inputs]:
        if fresh:
            pool = MachinePool(menu)
        with pool.lease(state=state, subscriber=subscriber, data=data, services=SERVICES) as (
            machine,
            model,
        ):
            if state is None:
                await _settle(machine.activate_initial_state())
            else:
                event = _event(menu, state, text or "", model)
                if event is not None:
                    await _settle(machine.send(event, text=text or ""))
            state, data, subscriber = str(model.state), dict(model.data), model.subscriber
            trace.append(_HASH.sub("<hash>", repr((state, model.notice, data, model.changes))))
        if state in menu.final_states:
            break
    return trace


def _event(menu: Menu, state: str, text: str, model: MenuModel) -> str | None:
    screen = menu.screens[state]
    if screen.options:
        option = screen.option(text)
        return option.event if option else None
    spec = screen.input
    if spec is None or (spec.pattern is not None and not spec.pattern.fullmatch(text)):
        return None
    return spec.event


# Pools live across examples, as in the gateway: most hops run on a reused machine.
OURS = {name: MachinePool(menu) for name, menu in CATALOG.menus.items()}
THEIRS = {name: MachinePool(reference(menu)) for name, menu in CATALOG.menus.items()}


@settings(max_examples=150, deadline=None)
@given(
    name=st.sampled_from(sorted(CATALOG.menus)),
    subscriber=st.sampled_from(SUBSCRIBERS),
    inputs=st.lists(st.sampled_from(INPUTS), max_size=7),
)
def test_same_states_and_decisions_as_the_loader_class(
    name: str, subscriber: Subscriber, inputs: list[str]
) -> None:
    """Any dialogue ends the same way on both classes, hop for hop, and on reused machines
    as on machines built for the hop."""
    ours = asyncio.run(drive(OURS[name], subscriber, inputs))
    assert ours == asyncio.run(drive(THEIRS[name], subscriber, inputs))
    assert ours == asyncio.run(drive(THEIRS[name], subscriber, inputs, fresh=True))


def test_the_dialogues_the_menus_promise() -> None:
    """A close, a reopen with the right PUK1 and a password set do what they say (so the
    differential test compares dialogues that reach their decisions)."""
    access, password = MachinePool(CATALOG.menus["access"]), MachinePool(CATALOG.menus["password"])
    closed = SUBSCRIBERS[1]
    for _ in range(2):  # a new pair, then the same pair reused
        assert "closed_now" in asyncio.run(drive(access, OPEN, ["1", "1"]))[-1]
        assert "'opened'" in asyncio.run(drive(access, closed, ["2", PUK]))[-1]
        pw_set = asyncio.run(drive(password, OPEN, ["Secret-pass-1", "Secret-pass-1"]))
        assert pw_set[-1].startswith("('done'") and "password_set" in pw_set[-1]
    assert len(access) == len(password) == 1


class _StoreDown(MenuModel):
    def close_access(self) -> None:
        raise RuntimeError("store down")


def test_an_action_that_fails_fails_the_step_and_moves_nothing() -> None:
    """An exception in an action reaches the caller; the model stays where it was."""
    model = _StoreDown(state="confirm_close", subscriber=OPEN, data={}, services=SERVICES)
    machine = CATALOG.menus["access"].machine(model=model)
    with pytest.raises(RuntimeError, match="store down"):
        machine.send("confirm")
    assert model.state == "confirm_close" and not model.changes.subscribers


def test_the_model_has_every_callback_name_in_its_kind() -> None:
    """Each guard a menu may name is a model property (read, not called with bound
    arguments); each action a method."""
    for name in GUARDS:
        assert isinstance(getattr(MenuModel, name, None), property), name
    for name in ACTIONS:
        assert callable(getattr(MenuModel, name, None)), name
