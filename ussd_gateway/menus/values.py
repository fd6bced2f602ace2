"""The session's values: what a menu saved, and how a value is shown on a screen.

A menu keeps values under names: an input's ``save_as``, an option's ``set``, a back-end
call's ``save`` (and ``refusal``, the reason of its last refused call). They live in the
session's data under :data:`KEY`, apart from the model's own counters, and go with the
session: a finished or ended session keeps none (``hop/position.py``), so a request formed
in a dialogue and never confirmed is annulled by its end (seed 001 §1.9).

Besides them every text, path and guard may read :data:`BUILTINS`. A secret input is
never saved (the checker refuses ``save_as`` beside ``secret: true``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Values = Mapping[str, Any]

KEY = "vars"
"""Where the values are in the session's data."""

REFUSAL = "refusal"
"""The reason of the hop's last refused call (``insufficient_balance``)."""

BUILTINS = frozenset({"msisdn", "lang", REFUSAL})
"""Names every menu may read: the subscriber's number and language, the last refusal."""


def shown(value: Any) -> str:
    """A value as a screen shows it: a number with a fraction in two decimals (money is the
    fraction USSD self-service shows: 12.5 → ``12.50``), a whole number as it is, a list
    as its items joined with ``, ``, yes/no as ``1``/``0``, nothing as an empty text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, list):
        return ", ".join(shown(item) for item in value)
    return str(value)


def template_values(saved: Values, *, msisdn: str, lang: str) -> dict[str, Any]:
    """What a text, a path or a guard of a hop reads: the saved values and the built-ins."""
    return {REFUSAL: None, **saved, "msisdn": msisdn, "lang": lang}
