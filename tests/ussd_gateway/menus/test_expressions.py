"""The guard language (menus/expressions.py): what it means, what it refuses at check
time, and that a compiled guard never raises at run time on any session values."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ussd_gateway.menus.expressions import ExpressionError, compile_guard

NAMES = ("balance", "price", "plan", "status", "pending", "connected", "refusal")


@pytest.mark.parametrize(
    ("source", "values", "expected"),
    [
        ("balance >= price", {"balance": 12.5, "price": 5}, True),
        ("balance >= price", {"balance": 3.2, "price": 5.0}, False),
        ("plan != 'prepaid' or balance >= price", {"plan": "contract", "balance": 0}, True),
        ("not connected", {"connected": False}, True),
        ("connected == true", {"connected": True}, True),
        ("connected == true", {"connected": 1}, False),  # a flag is not a count
        ("pending in ['connect', 'disconnect']", {"pending": "connect"}, True),
        ("pending in ['connect', 'disconnect']", {"pending": None}, False),
        ("pending not in ['connect']", {"pending": "disconnect"}, True),
        ("pending == null", {}, True),  # no value is None
        ("0 < balance < 10", {"balance": 5}, True),
        ("0 < balance < 10", {"balance": 10}, False),
        ("balance > -1.5", {"balance": -1}, True),
        ("'roam' in status", {"status": "roaming"}, True),
        ("(a or b) and not c", {"a": False, "b": True, "c": False}, True),
    ],
)
def test_what_a_guard_means(source: str, values: dict[str, Any], expected: bool) -> None:
    assert compile_guard(source)(values) is expected


@pytest.mark.parametrize(
    ("source", "what"),
    [
        ("balance.__class__", "attribute access"),
        ("values['x']", "subscripts"),
        ("len(plan)", "calls"),
        ("balance + 1 > 2", "arithmetic"),
        ("(lambda: 1)()", "calls"),
        ("__import__('os')", "calls"),
        ("[x for x in plan]", "ListComp"),
        ("a if b else c", "if/else"),
        ("plan in {'a'}", "sets"),
        ("plan in [status]", "a list holds literals only"),
        ("f'{plan}' == 'x'", "f-strings"),
        ("(x := 1)", "assignments"),
        ("plan is None", "comparisons are"),
        ("balance >", "not an expression"),
        ("--1 < balance", "a minus sign goes before a number only"),
        ("plan == 'a\x00'", "null"),
        ("", "non-empty"),
        ("b" * 600, "at most 500"),
    ],
)
def test_what_is_refused_at_check_time(source: str, what: str) -> None:
    with pytest.raises(ExpressionError, match=what.replace("(", r"\(").replace("[", r"\[")):
        compile_guard(source)


def test_a_guard_knows_the_names_it_reads() -> None:
    guard = compile_guard("plan == 'prepaid' and not (balance < price) or true")
    assert guard.names == {"plan", "balance", "price"}


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
)
_values = st.dictionaries(
    st.sampled_from(NAMES), st.one_of(_scalars, st.lists(_scalars, max_size=4)), max_size=7
)


@st.composite
def _guards(draw: st.DrawFn, depth: int = 0) -> str:
    """A guard in the language, over the names the values may hold."""
    leaf = st.one_of(
        st.sampled_from(NAMES),
        st.sampled_from(["1", "-2.5", "'prepaid'", "true", "null", "['a', 1, null]"]),
    )
    if depth >= 3 or draw(st.booleans()):
        left, right = draw(leaf), draw(leaf)
        op = draw(st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "in", "not in"]))
        return f"{left} {op} {right}"
    kind = draw(st.sampled_from(["and", "or", "not"]))
    if kind == "not":
        return f"not ({draw(_guards(depth + 1))})"
    return f"({draw(_guards(depth + 1))}) {kind} ({draw(_guards(depth + 1))})"


@given(source=_guards(), values=_values)
def test_a_compiled_guard_never_raises(source: str, values: dict[str, Any]) -> None:
    """Whatever the session holds (no value, a list, a NaN, a text where a number was
    expected), a guard is a yes or a no."""
    assert compile_guard(source)(values) in (True, False)


@given(source=st.text(max_size=40))
def test_any_text_compiles_or_is_refused_with_a_column(source: str) -> None:
    """Nothing but ExpressionError comes out of compiling, and it points at a column."""
    try:
        compile_guard(source)
    except ExpressionError as exc:
        assert exc.column >= 1
