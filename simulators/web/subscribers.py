"""What the page offers to pick: the demo subscribers of ``make run`` and shortcut codes.

The list repeats the demo's numbers (``ussd_gateway/process/demo.py``, which a simulator
must not import; a test keeps the two equal). No PUK1 is here: a tester reads them from
``make run``'s banner, and the page never holds one it was not typed.
"""

from __future__ import annotations

from typing import Final

DEMO_SUBSCRIBERS: Final = (
    ("375291000001", "ru · access open: close it, set a password"),
    ("375331000002", "en · English menus"),
    ("375441000003", "ru · closed by the subscriber: reopen with PUK1"),
    ("375251000004", "ru · closed by the organisation"),
    ("375291000005", "ru · closed by the operator"),
    ("375291000006", "ru · company administrator"),
    ("375291000007", "ru · company staff"),
)
"""(MSISDN, what a tester finds there)."""

SHORTCUTS: Final = (
    ("*141*3*6#", "access: open or close"),
    ("*141*3*6*1#", "close access (straight to the confirmation)"),
    ("*141*3*6*2#", "open access (straight to the PUK1 prompt)"),
    ("*141*0#", "set the password"),
    ("*100#", "balance and services (make run: the billing simulator's back-end)"),
)
"""(code, what it does): the README's codes, one click each."""
