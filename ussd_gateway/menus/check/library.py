"""The bridge to python-statemachine's own reader and builder (``statemachine.io``).

The checker lets the library judge the machine too, so a menu passes here exactly when it
can be built. A machine section with no problem so far is built as the gateway runs it
(``machine.machine_class``), and that class is kept for the loader: one build per menu. A
section with problems is only judged, by the library's own loader, with what was already
reported with a line taken out first, so the library does not repeat it without one.
``as_json`` is how a machine reaches the library (the diagram uses it as well).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from statemachine.io import load as load_machine

from ..machine import machine_class
from .context import Context


def as_json(value: Any) -> str:
    # JSON keeps strings like "on" as strings; indent adds a newline so statemachine.io
    # never mistakes a short document for a file name.
    return json.dumps(value, indent=1, default=str)


def check_library(ctx: Context, machine: Any, ids: frozenset[str], *, build: bool) -> None:
    """Let python-statemachine judge the document; ``build``: nothing was reported in it,
    so build the class the gateway will run (``ctx.machine``)."""
    try:
        if build and isinstance(machine, Mapping):
            name = str(machine.get("name") or Path(ctx.source.file).stem)
            ctx.machine = machine_class(machine, name)
        else:
            load_machine(as_json(_without_reported(machine, ids)), format="json")
    except Exception as exc:
        # The library appends its whole internal definition; the reason is the first part.
        reason = str(exc).split(" from definition: ")[0]
        ctx.add(("machine",), f"python-statemachine rejects the machine: {reason}")


def _without_reported(machine: Any, ids: frozenset[str]) -> Any:
    # Guards, actions and bad targets are already reported by name and with their lines
    # (callback_names.py, graph.py); removing them keeps the library from repeating those
    # problems without a line.
    if not isinstance(machine, Mapping) or not isinstance(machine.get("states"), Mapping):
        return machine
    states = {sid: _bare_state(sdef, ids) for sid, sdef in machine["states"].items()}
    return {**machine, "states": states}


def _bare_state(sdef: Any, ids: frozenset[str]) -> Any:
    if not isinstance(sdef, Mapping):
        return sdef
    bare = {k: v for k, v in sdef.items() if k not in ("enter", "exit")}
    if isinstance(bare.get("transitions"), list):
        bare["transitions"] = [_bare_transition(t, ids) for t in bare["transitions"]]
    return bare


def _bare_transition(transition: Any, ids: frozenset[str]) -> Any:
    if not isinstance(transition, Mapping):
        return transition
    skip = {"cond", "unless", "on", "before", "after"}
    bare = {k: v for k, v in transition.items() if k not in skip}
    if "target" in bare and not (isinstance(bare["target"], str) and bare["target"] in ids):
        del bare["target"]
    return bare
