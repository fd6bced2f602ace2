"""What a menu's call sends and keeps (menus/calls.py): pure, no HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ussd_gateway.menus.calls import CallSpec, saved_fields

SPEC = CallSpec(
    "order", "billing", "POST", "/subscribers/{msisdn}/services/{service}",
    body={"action": "{action}", "amount": "{amount}", "note": "USSD {lang}", "fixed": 1},
    save={"balance": "balance", "name": "tariff.name"},
)  # fmt: skip


@given(st.text(max_size=30))
def test_a_typed_value_stays_inside_its_path_segment(value: str) -> None:
    """Whatever is typed (``../admin``, ``?x=1``, ``#``, ``/``) is one segment's text."""
    path = SPEC.path_for({"msisdn": "375291000001", "service": value})
    head, _, segment = path.rpartition("/")
    assert head == "/subscribers/375291000001/services"
    assert not {"/", "?", "#", "."} & set(segment)


def test_the_body_keeps_types_and_fills_texts() -> None:
    values = {"action": "connect", "amount": 12.5, "lang": "en"}
    assert SPEC.body_for(values) == {
        "action": "connect", "amount": 12.5, "note": "USSD en", "fixed": 1
    }  # fmt: skip


@pytest.mark.parametrize(
    ("answer", "saved"),
    [
        ({"balance": 7.5, "tariff": {"name": "Comfort"}}, {"balance": 7.5, "name": "Comfort"}),
        ({"balance": 7.5}, None),  # a field the menu reads is missing
        ({"balance": {"amount": 7.5}, "tariff": {"name": "x"}}, None),  # an object
        ({"balance": "x" * 161, "tariff": {"name": "x"}}, None),  # longer than a screen
        ({"balance": [1, 2, "three"], "tariff": {"name": None}}, {"balance": [1, 2, "three"],
                                                                   "name": None}),
        ({"balance": list(range(21)), "tariff": {"name": "x"}}, None),  # a long list
        ([1, 2], None),
    ],
)  # fmt: skip
def test_only_what_a_session_can_keep_is_saved(answer: Any, saved: dict[str, Any] | None) -> None:
    assert saved_fields(SPEC, answer) == saved
