"""Read a menu YAML file safely and remember where every value came from.

Menus are checked and reported as ``file:line: problem``, so parsing keeps a map from
each value's path (``("screens", "ask_puk", "input")``) to its 1-based line. The loader
is YAML's safe loader with one change shared with python-statemachine's own reader:
only ``true``/``false`` become booleans, so ``on``/``off``/``yes``/``no`` stay strings.
Files are composed by libyaml when PyYAML has it (most of start-up's time was the pure
Python reader); a file libyaml refuses is read again by the pure reader, whose words for
the fault are clearer, so both report the same line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

PathKey = tuple[str | int, ...]
"""Where a value sits in the document: mapping keys and sequence indexes."""


class _MenuLoader(yaml.SafeLoader):
    """SafeLoader whose implicit booleans are only ``true`` and ``false``."""


_RESOLVERS = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if not (tag == "tag:yaml.org,2002:bool" and first not in "tTfF")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_MenuLoader.yaml_implicit_resolvers = _RESOLVERS

_FastMenuLoader: type[Any] | None = None
if getattr(yaml, "__with_libyaml__", False):

    class _CMenuLoader(yaml.CSafeLoader):
        """libyaml's parser with the same resolvers (the resolver is Python in both)."""

    _CMenuLoader.yaml_implicit_resolvers = _RESOLVERS
    _FastMenuLoader = _CMenuLoader


def _compose(text: str) -> yaml.Node | None:
    if _FastMenuLoader is not None:
        try:
            return yaml.compose(text, Loader=_FastMenuLoader)
        except yaml.YAMLError:
            pass  # read again below: the pure reader says what is wrong more clearly
    return yaml.compose(text, Loader=_MenuLoader)


class MenuSyntaxError(ValueError):
    """The file is not valid YAML; carries the 1-based line of the fault."""

    def __init__(self, file: str, line: int, message: str) -> None:
        super().__init__(f"{file}:{line}: {message}")
        self.file = file
        self.line = line
        self.message = message


@dataclass(frozen=True)
class MenuSource:
    """A parsed menu file: plain data plus the line of every value in it."""

    file: str
    data: Any
    lines: dict[PathKey, int] = field(repr=False)

    def line_of(self, *path: str | int) -> int:
        """Line of the value at ``path``, or of its nearest ancestor that has one."""
        key: PathKey = tuple(path)
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key[:-1]
        return self.lines.get((), 1)


def _walk(node: yaml.Node, path: PathKey, lines: dict[PathKey, int], make: _MenuLoader) -> Any:
    # ``make``: one constructor per file, for the scalars (mappings and sequences are
    # built here, to note each value's line).
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = make.construct_object(key_node, deep=True)
            if isinstance(key, (list, dict)):
                raise MenuSyntaxError("", key_node.start_mark.line + 1, "a key must be a scalar")
            child = (*path, key)
            result[key] = _walk(value_node, child, lines, make)
            # A key's own line is where a reader looks for it (the value may start below).
            lines[child] = key_node.start_mark.line + 1
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_walk(item, (*path, i), lines, make) for i, item in enumerate(node.value)]
    return make.construct_object(node, deep=True)


def parse_menu_text(text: str, file: str = "<menu>") -> MenuSource:
    """Parse menu YAML text.

    Raises:
        MenuSyntaxError: on invalid YAML, duplicate keys or non-scalar keys.
    """
    try:
        root = _compose(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise MenuSyntaxError(file, line, exc.problem or str(exc)) from exc
    lines: dict[PathKey, int] = {}
    if root is None:
        return MenuSource(file, None, {(): 1})
    _reject_duplicate_keys(root, file)
    try:
        data = _walk(root, (), lines, _MenuLoader(""))
    except MenuSyntaxError as exc:
        raise MenuSyntaxError(file, exc.line, exc.message) from exc
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        raise MenuSyntaxError(file, mark.line + 1 if mark else 1, str(exc.problem)) from exc
    return MenuSource(file, data, lines)


def _reject_duplicate_keys(node: yaml.Node, file: str) -> None:
    # PyYAML keeps the last of two equal keys silently; in a menu that hides a screen.
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                if key_node.value in seen:
                    raise MenuSyntaxError(
                        file, key_node.start_mark.line + 1, f"duplicate key {key_node.value!r}"
                    )
                seen.add(key_node.value)
            _reject_duplicate_keys(value_node, file)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _reject_duplicate_keys(item, file)


def read_menu_file(path: Path) -> MenuSource:
    """Read and parse one menu file (UTF-8)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise MenuSyntaxError(str(path), 1, f"not UTF-8: {exc.reason}") from exc
    return parse_menu_text(text, str(path))
