"""The error trees in the errors modules' docstrings name exactly the classes, with their
parents as drawn: the drawing is what a newcomer reads first."""

from __future__ import annotations

import importlib
import inspect
import re

import pytest

MODULES = ["state.errors", "account.errors", "ussd_gateway.errors", "sms.errors"]
_BOX = "│├└─ "


def _drawn(doc: str) -> dict[str, str | None]:
    """Class → parent as the docstring's tree draws it (None for a root)."""
    lines = doc.splitlines()
    tree: dict[str, str | None] = {}
    stack: list[tuple[int, str]] = []
    for index, line in enumerate(lines):
        near = lines[max(index - 1, 0) : index + 2]  # a root sits next to its branches
        in_tree = any(c in text for text in near for c in "├└")
        name = re.match(r"[A-Z][A-Za-z_]+", line.lstrip(_BOX))
        if not in_tree or name is None:
            continue
        depth = len(line) - len(line.lstrip(_BOX))
        while stack and stack[-1][0] >= depth:
            stack.pop()
        tree[name.group()] = stack[-1][1] if stack else None
        stack.append((depth, name.group()))
    return tree


@pytest.mark.parametrize("name", MODULES)
def test_the_drawn_tree_is_the_class_tree(name: str) -> None:
    module = importlib.import_module(name)
    defined = {
        cls.__name__: cls
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, Exception) and cls.__module__ == name
    }
    drawn = _drawn(module.__doc__ or "")
    assert set(drawn) == set(defined), f"{name}: drawn {sorted(drawn)}, defined {sorted(defined)}"
    for child, parent in drawn.items():
        if parent is not None:
            assert defined[child].__mro__[1] is defined[parent] or issubclass(
                defined[child], defined[parent]
            ), f"{name}: {child} is drawn under {parent}"
        else:
            assert not any(
                issubclass(defined[child], other) for other in defined.values()
                if other is not defined[child]
            ), f"{name}: {child} is drawn as a root but has a parent here"
