"""``mermaid``: a menu's state diagram (``ussd-gateway menus diagram``).

Drawn by python-statemachine itself from the same JSON the checker hands it, so the
diagram shows the machine the gateway runs, not a second reading of the YAML.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from statemachine.io import load as load_machine

from ..source import MenuSource, read_menu_file
from .library import as_json


def mermaid(path: Path) -> str:
    """Mermaid state diagram of the file's machine, drawn by python-statemachine itself.

    Raises:
        MenuSyntaxError: if the file is not valid YAML.
        ValueError: if it has no machine (InvalidDefinition if the library rejects it).
    """
    return mermaid_of(read_menu_file(path))


def mermaid_of(source: MenuSource) -> str:
    """``mermaid`` of an already parsed file."""
    machine = source.data.get("machine") if isinstance(source.data, Mapping) else None
    if machine is None:
        raise ValueError(f"{source.file}: no machine")
    cls = load_machine(as_json(machine), format="json")
    return f"{cls:mermaid}"
