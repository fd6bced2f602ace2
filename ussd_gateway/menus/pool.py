"""Reusable machine and model pairs, so a hop does not build a state machine.

Building a python-statemachine instance resolves every callback name of the menu against
the machine and its model (``StateChart._register_callbacks``): the largest CPU cost of a
hop when done per hop. A pair is instead leased for one hop, its model reset in place (the
resolved callbacks are bound to that model object), its configuration cache dropped and its
engine emptied and set running, which is what the constructor leaves after registering
callbacks. A pair is used by one hop at a time (a password hop awaits argon2 while holding
it), and one whose hop failed is dropped rather than returned: whatever it was in the
middle of must not leak into another subscriber's hop.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from statemachine import StateChart
from statemachine.engines.async_ import AsyncEngine

from state.models import Subscriber
from ussd_gateway.menus.loader import Menu
from ussd_gateway.menus.model import HopServices, MenuModel

MAX_IDLE = 256
"""Idle pairs kept per menu: enough for the concurrency one process sees, bounded memory."""


class MachinePool:
    """Machine and model pairs of one menu."""

    def __init__(self, menu: Menu) -> None:
        self.menu = menu
        self._idle: list[tuple[StateChart[Any], MenuModel]] = []
        self._entry = _silent_entry(menu.machine, menu.model)

    @contextmanager
    def lease(
        self,
        *,
        state: str | None,
        subscriber: Subscriber,
        data: dict[str, Any],
        services: HopServices,
    ) -> Iterator[tuple[StateChart[Any], MenuModel]]:
        """A machine positioned at ``state`` (None: to be activated) on a fresh model.

        A first hop's machine is put straight in the initial state when entering it does
        nothing (no enter callback), so ``activate_initial_state()`` only takes its eventless
        transitions: the library's initial pseudo-transition would be a microstep that calls
        nothing.
        """
        if state is None:
            state = self._entry
        if self._idle:
            machine, model = self._idle.pop()
            model.reset(state=state, subscriber=subscriber, data=data, services=services)
            _restart(machine, activating=state is None)
        else:
            model = self.menu.model(
                state=state, subscriber=subscriber, data=data, services=services
            )
            machine = self.menu.machine(model=model)
        yield machine, model
        # Reached only when the hop's block finished without an exception.
        if len(self._idle) < MAX_IDLE:
            self._idle.append((machine, model))

    def __len__(self) -> int:
        return len(self._idle)


def _silent_entry(machine: type[StateChart[Any]], model: type[MenuModel] = MenuModel) -> str | None:
    """The initial state's id if entering it calls nothing, else None."""
    initial = machine.initial_state
    if initial is None:
        return None
    named = [spec for spec in initial.enter if not spec.is_convention]
    conventions = {spec.func for spec in initial.enter if spec.is_convention}
    if named or any(hasattr(model, name) for name in conventions):
        return None
    return str(initial.id)


def _restart(machine: StateChart[Any], *, activating: bool) -> None:
    # What StateChart.__init__ leaves after _register_callbacks (python-statemachine 3.2),
    # without building a new engine (two priority queues and their six locks, ~20 µs of a
    # 100 µs step): no history, a configuration read afresh from the model, the engine's queues
    # and step cache empty and running again after the previous hop's final state. A hop
    # at a known state just sends. A first hop's activate_initial_state() enters the
    # initial state itself on the sync engine; the async one processes the __initial__
    # event its start() queues (what the constructor did).
    machine.history_values.clear()
    machine._config._invalidate()  # type: ignore[no-untyped-call]
    engine = machine._engine
    engine.clear()
    engine.clear_cache()
    engine.running = True
    engine._root_parallel_final_pending = None
    if activating and isinstance(engine, AsyncEngine):
        engine.start()  # type: ignore[no-untyped-call]
