"""Every message key the code asks the catalogue for, and the values each one is filled with.

A message is shown by key: the engine ends a session with one (``hop/engine.py``), the
pagination labels are two (``MenuCatalog.navigation``), an input that a screen refuses
gets one (``hop/screen.py``), and the model's actions raise notices (``model.py``). Only a
notice is filled (``render.fill`` with ``Notice.values``); every other text, a screen's
included, is shown as written. This module is the one place that says which key gets
which ``{name}`` values: the menu checker refuses any other placeholder with its
``file:line``, and ``Notice`` refuses values its key is not listed with, so the table and
the code cannot drift apart.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

from state.passwords import PolicyViolation

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
"""A ``{name}`` placeholder as ``render.fill`` fills it and the checker reads it."""

NAVIGATION: Mapping[str, str] = MappingProxyType(
    {
        "nav_more": "the label of 98, the next page of a long screen",
        "nav_back": "the label of 00, the page before",
    }
)
"""The pagination labels (``MenuCatalog.navigation``)."""

ENGINE_MESSAGES: Mapping[str, str] = MappingProxyType(
    {
        "not_available": "the engine's answer to a code no menu serves, or a bad shortcut",
        "secret_in_dial_string": "the engine's refusal of a password typed in the dial string",
        "session_expired": "the engine's answer when a session has timed out",
        "session_ended": "the engine's answer to a hop after the session ended",
        "temporarily_unavailable": "the engine's answer while the store cannot be reached",
        "invalid_choice": "the notice above a screen when a key is no option on it",
    }
)
"""What the engine says outside any one menu (``hop/engine.py``, ``hop/screen.py``)."""

APOLOGY = "backend_unavailable"
"""The engine's apology when a menu's back-end call failed: a menu's own, else the shared
one, else ``temporarily_unavailable`` (a ``common.yaml`` older than back-end calls has
none, and must still load)."""

SHARED_TEXTS: Mapping[str, str] = MappingProxyType({**NAVIGATION, **ENGINE_MESSAGES})
"""Every text the shared ``common.yaml`` must have, with who shows it: a missing one would
fail a subscriber's hop, so it is a start-up error naming the key."""

NO_VALUES: frozenset[str] = frozenset()

ACTION_NOTICES: Mapping[str, Mapping[str, frozenset[str]]] = MappingProxyType(
    {
        "verify_puk": {"wrong_puk": frozenset({"attempts_left"})},
        "propose_password": {violation.value: NO_VALUES for violation in PolicyViolation},
        "confirm_password": {"password_mismatch": NO_VALUES},
    }
)
"""The notices each action of the model may raise, and the values each is filled with: a
menu naming the action must have those messages (its own, or shared ones)."""

PLACEHOLDERS: Mapping[str, frozenset[str]] = MappingProxyType(
    {key: names for notices in ACTION_NOTICES.values() for key, names in notices.items()}
)
"""Message key → the ``{name}`` placeholders it is filled with. A key not listed here (a
shared text, a screen's ``input.invalid``) is shown as written: no placeholders."""


def placeholders(key: str) -> frozenset[str]:
    """The ``{name}`` placeholders message ``key`` is filled with (none if not a notice)."""
    return PLACEHOLDERS.get(key, NO_VALUES)
