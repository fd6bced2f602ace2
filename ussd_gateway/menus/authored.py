"""What a menu file adds to its model: its guards as properties, its calls as actions.

python-statemachine resolves a machine's guard and action names against its model once,
when the machine is built (``pool.py`` reuses built machines). A menu's own names — the
compiled expressions of its ``guards`` section, the requests of its ``calls`` section —
are therefore members of a class of that menu, derived from :class:`MenuModel`, made once
when the menu is loaded: a hop neither looks a name up nor compiles anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ussd_gateway.menus.calls import CallSpec
from ussd_gateway.menus.expressions import Guard
from ussd_gateway.menus.model import MenuModel


def model_class(
    name: str, guards: Mapping[str, Guard], calls: Mapping[str, CallSpec]
) -> type[MenuModel]:
    """The model of one menu: the built-in guards and actions, its own guards as properties
    and its calls as actions. A menu without either runs on :class:`MenuModel` itself."""
    if not guards and not calls:
        return MenuModel
    members: dict[str, Any] = {}
    for guard_name, guard in guards.items():
        members[guard_name] = property(_guard_reader(guard), doc=guard.source)
    for call_name, spec in calls.items():
        members[call_name] = _call_action(spec)
    return type(f"{name.title().replace('_', '')}Model", (MenuModel,), members)


def _guard_reader(guard: Guard) -> Any:
    def read(model: MenuModel) -> bool:
        return guard(model.values())

    return read


def _call_action(spec: CallSpec) -> Any:
    async def action(model: MenuModel) -> None:
        await model._run_call(spec)

    action.__name__ = spec.name
    action.__doc__ = f"{spec.method} {spec.path} on back-end {spec.backend!r}"
    return action
