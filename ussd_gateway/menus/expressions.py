"""The guard language of menu files: small, safe, compiled once at start-up.

A menu's ``guards`` section names expressions over the session's values (what the
subscriber typed and saved, what a back-end answered, ``msisdn`` and ``lang``)::

    guards:
      can_pay: "plan != 'prepaid' or balance >= price"
      is_pending: "pending in ['connect', 'disconnect']"

The language is Python's expression syntax cut down to: names, string/number/boolean/null
literals (``null`` and ``none`` as well as ``None``), lists and tuples of literals (for
membership), comparisons (``== != < <= > >= in not in``, chained), ``and``, ``or``,
``not``, and parentheses. No attribute access, subscripts, calls, arithmetic, lambdas or
comprehensions: there is nothing to reach the process with. It is parsed with Python's
own parser (``ast``) and turned into a tree of closures here, once, when the menu is
loaded; a hop calls the closure with the session's values and never sees source text.

At run time an expression never raises, whatever the values hold: a name with no value
is ``None``; a comparison whose sides cannot be ordered (``"12" < 3``, ``None > 1``) is
false; ``in`` on a value that is no collection is false. A guard is then a plain yes or no.

Why our own compiler rather than a library (``simpleeval``, ``asteval``): those evaluate
the tree anew on every call and start from much more (attributes, calls, arithmetic)
that would have to be switched off one by one; this language is seven kinds of node.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Values = Mapping[str, Any]
Compiled = Callable[[Values], Any]

MAX_SOURCE = 500
"""Characters of one guard: a guard is a line of a menu file, not a program."""

_NULLS = frozenset({"null", "none", "None"})
_BOOLS = {"true": True, "false": False, "True": True, "False": False}
_ORDER: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}


class ExpressionError(ValueError):
    """A guard that is not in the language, with the column it goes wrong at (1-based)."""

    def __init__(self, message: str, column: int = 1) -> None:
        super().__init__(message)
        self.column = column


@dataclass(frozen=True, slots=True)
class Guard:
    """A compiled guard: call it with the session's values for a yes or no."""

    source: str
    names: frozenset[str]
    """The value names it reads (the checker holds each to one the menu sets)."""
    _run: Compiled

    def __call__(self, values: Values) -> bool:
        return bool(self._run(values))


def compile_guard(source: str) -> Guard:
    """Compile ``source`` once.

    Raises:
        ExpressionError: it is not in the language (what, and where).
    """
    if not isinstance(source, str) or not source.strip():
        raise ExpressionError("a guard must be a non-empty expression")
    if len(source) > MAX_SOURCE:
        raise ExpressionError(f"a guard is at most {MAX_SOURCE} characters")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"not an expression: {exc.msg}", exc.offset or 1) from None
    names: set[str] = set()
    run = _compile(tree.body, names)
    return Guard(source, frozenset(names), run)


def _compile(node: ast.expr, names: set[str]) -> Compiled:
    if isinstance(node, ast.BoolOp):
        parts = [_compile(value, names) for value in node.values]
        if isinstance(node.op, ast.And):
            return lambda values: all(part(values) for part in parts)
        return lambda values: any(part(values) for part in parts)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        inner = _compile(node.operand, names)
        return lambda values: not inner(values)
    if isinstance(node, ast.Compare):
        return _comparison(node, names)
    if isinstance(node, ast.Name):
        return _name(node.id, names)
    if isinstance(node, ast.Constant):
        return _constant(node)
    if isinstance(node, (ast.List, ast.Tuple)):
        items = tuple(_literal(element) for element in node.elts)
        return lambda values: items
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        operand = node.operand
        if not (isinstance(operand, ast.Constant) and _number(operand.value)):
            raise ExpressionError("a minus sign goes before a number only", node.col_offset + 1)
        number = _negated(operand.value)
        return lambda values: number
    raise ExpressionError(_refusal(node), node.col_offset + 1)


def _name(name: str, names: set[str]) -> Compiled:
    if name in _NULLS:
        return lambda values: None
    if name in _BOOLS:
        flag = _BOOLS[name]
        return lambda values: flag
    names.add(name)
    return lambda values: values.get(name)


def _constant(node: ast.Constant) -> Compiled:
    value = node.value
    if isinstance(value, (str, int, float, bool)) or value is None:
        return lambda values: value
    raise ExpressionError("only strings, numbers, true/false and null", node.col_offset + 1)


def _literal(node: ast.expr) -> Any:
    """A list element: a literal only (membership tests against a fixed set)."""
    if isinstance(node, ast.Constant) and (
        isinstance(node.value, (str, int, float, bool)) or node.value is None
    ):
        return node.value
    if (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, ast.USub)
        and isinstance(node.operand, ast.Constant)
        and _number(node.operand.value)
    ):
        return _negated(node.operand.value)
    if isinstance(node, ast.Name) and node.id in _NULLS:
        return None
    if isinstance(node, ast.Name) and node.id in _BOOLS:
        return _BOOLS[node.id]
    raise ExpressionError("a list holds literals only", node.col_offset + 1)


def _negated(value: Any) -> int | float:
    number: int | float = value
    return -number


def _comparison(node: ast.Compare, names: set[str]) -> Compiled:
    sides = [_compile(node.left, names), *(_compile(c, names) for c in node.comparators)]
    tests = [_test(op) for op in node.ops]

    def run(values: Values) -> bool:
        left = sides[0](values)
        for test, side in zip(tests, sides[1:], strict=True):
            right = side(values)
            if not test(left, right):
                return False
            left = right
        return True

    return run


def _test(op: ast.cmpop) -> Callable[[Any, Any], bool]:
    if isinstance(op, ast.Eq):
        return _equal
    if isinstance(op, ast.NotEq):
        return lambda a, b: not _equal(a, b)
    if isinstance(op, ast.In):
        return _member
    if isinstance(op, ast.NotIn):
        return lambda a, b: _collection(b) and not _member(a, b)
    order = _ORDER.get(type(op))
    if order is None:
        raise ExpressionError("comparisons are == != < <= > >= in, not in")
    return lambda a, b: _ordered(order, a, b)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _equal(a: Any, b: Any) -> bool:
    # true == 1 is no match here: a back-end's flag and a count are different things.
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b) if _comparable(a, b) or a is None or b is None else False


def _comparable(a: Any, b: Any) -> bool:
    return (_number(a) and _number(b)) or (isinstance(a, str) and isinstance(b, str))


def _ordered(order: Callable[[Any, Any], bool], a: Any, b: Any) -> bool:
    return _comparable(a, b) and bool(order(a, b))


def _collection(value: Any) -> bool:
    return isinstance(value, (list, tuple, str))


def _member(item: Any, container: Any) -> bool:
    if isinstance(container, str):
        return isinstance(item, str) and item in container
    if isinstance(container, Sequence):
        return any(_equal(item, element) for element in container)
    return False


def _refusal(node: ast.expr) -> str:
    kinds = {
        ast.Attribute: "attribute access",
        ast.Subscript: "subscripts",
        ast.Call: "calls",
        ast.BinOp: "arithmetic",
        ast.Lambda: "lambdas",
        ast.IfExp: "if/else",
        ast.Dict: "dictionaries",
        ast.Set: "sets",
        ast.JoinedStr: "f-strings",
        ast.NamedExpr: "assignments",
    }
    for kind, what in kinds.items():
        if isinstance(node, kind):
            return f"not part of the guard language: {what}"
    return f"not part of the guard language: {type(node).__name__}"
