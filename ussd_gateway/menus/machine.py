"""Build a menu's python-statemachine class from its YAML ``machine`` document.

The library's own reader turns the document into its neutral definition and its own
builder turns that into a ``StateChart`` class, as ``statemachine.io.load`` does, with two
differences that cost a hop nothing in meaning and most of its machine time:

- Guards are attached as the library's native name references (``cond="access_is_open"``,
  boolean expressions of names included), resolved once per machine to the model's
  attributes, instead of expressions run by the loader's sandboxed evaluator on every
  check. The menu checker already allows nothing in a guard but guard names, ``and``,
  ``or`` and ``not`` (``check/callback_names.py``), so the evaluator had nothing to protect against.
- No ``prepare_event`` hook: the loader adds one that builds SCXML's system variables
  (``_event``, ``_sessionid``, ``_ioprocessors``) for every callback of every event; our
  guards and actions read none of them.

The class then runs as the library's ``StateMachine`` flavour of a statechart: a callback's
exception propagates (a failed hop must change nothing, not become an ``error.execution``
event with the state moved on) and the configuration is updated once per microstep.
``tests/ussd_gateway/menus/test_machine.py`` runs every shipped menu on both this class
and the one ``statemachine.io.load`` builds and requires the same states and changes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from statemachine import StateChart
from statemachine.exceptions import InvalidDefinition
from statemachine.io import create_machine_class_from_definition, load
from statemachine.io.builder import DefinitionBuilder
from statemachine.io.evaluators import evaluator_for
from statemachine.io.json.reader import JSONReader
from statemachine.io.model import InvokeDefinition

from ussd_gateway.errors import MenuDefinitionError


class _NamedGuards(DefinitionBuilder):
    """The library's builder, keeping guard expressions as the library's name references."""

    def _compile_guard(self, expr: Any) -> Any:
        return list(expr) if isinstance(expr, (list, tuple)) else expr


class _MenuRuntime:
    """The builder's runtime hooks for a menu: no system variables, no invoked children."""

    def initial_enter_prefix(self, is_invoked: bool) -> list[Any]:
        return []

    def definition_kwargs(self, definition: Any) -> dict[str, Any]:
        # The loader's structural settings (``Interpreter.definition_kwargs``) minus
        # prepare_event; the menu checker does the structural checks with line numbers.
        return {
            "validate_disconnected_states": False,
            "validate_trap_states": False,
            "validate_final_reachability": False,
            "start_configuration_values": list(definition.initial_states),
        }

    def make_invoker(self, invoke_def: InvokeDefinition) -> Any:
        raise MenuDefinitionError(["a menu machine may not invoke another machine"])


def machine_class(machine_doc: Mapping[str, Any], name: str) -> type[StateChart[Any]]:
    """The machine class of one menu's ``machine`` document.

    The checker builds it (``check/library.py``) and the loader runs that class: one build
    per menu at start-up.

    Raises:
        InvalidDefinition: the library refuses the document, worded as its loader words it.
    """
    definition = JSONReader().read(_as_json(machine_doc), source_name=name)
    builder = _NamedGuards(evaluator=evaluator_for(trusted=False), hooks=_MenuRuntime())
    kwargs = builder.build_class_kwargs(definition, is_invoked=False)
    try:
        cls: type[StateChart[Any]] = create_machine_class_from_definition(
            definition.name or name, **kwargs
        )
    except Exception as exc:
        # As statemachine.io's Interpreter says it, less the definition it appends.
        raise InvalidDefinition(f"Failed to create state machine class: {exc}") from exc
    cls.catch_errors_as_events = False
    cls.atomic_configuration_update = True
    return cls


def loader_class(machine_doc: Mapping[str, Any]) -> type[StateChart[Any]]:
    """The class ``statemachine.io.load`` builds from the same document, failing a hop as
    ours does: the reference ``machine_class`` is tested against (``test_machine.py``) and
    measured against (``bench/machine_cost.py``)."""
    cls: type[StateChart[Any]] = load(_as_json(machine_doc), format="json")
    cls.catch_errors_as_events = False
    return cls


def _as_json(machine_doc: Mapping[str, Any]) -> str:
    # JSON keeps every string as written (YAML would re-read `on`/`no` as booleans).
    return json.dumps(machine_doc)
