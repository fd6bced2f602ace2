"""The billing simulator's fault switches, for tests of the gateway's side of a bad back-end.

Only with ``ussd-billing serve --faults``: ``POST /_faults`` sets them (each call replaces
the last), ``DELETE /_faults`` clears them::

    {"delay": 2.5, "status": 503, "malformed": true, "routes": "/subscribers"}

- ``delay`` (seconds, 0-60): the request is handled at once and its answer held back that
  long. A connect accepted behind a delay is on ``/orders`` before the caller hears of it,
  as with a real back-end whose answer is slow: the case a retry with the same
  ``Idempotency-Key`` is for.
- ``status`` (400-599): the answer is that status with ``{"reason": "injected_fault"}``,
  after the delay; the request is not handled (nothing ordered, nothing charged).
- ``malformed``: the answer's body is ``{not json`` (with ``status``, or 200), after the
  delay; the request is not handled.
- ``routes``: ``all`` (every route but ``/_faults``) or ``/subscribers`` (those under it:
  ``/orders`` and ``/healthz`` stay truthful for the test's own checks). Default ``all``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

ROUTES = ("all", "/subscribers")
MAX_DELAY = 60.0
MALFORMED_BODY = "{not json"


@dataclass(frozen=True)
class Faults:
    """The switches set by the last ``POST /_faults``."""

    delay: float = 0.0
    status: int | None = None
    malformed: bool = False
    routes: Literal["all", "/subscribers"] = "all"

    def applies_to(self, route: str) -> bool:
        """Whether a request to the route template ``route`` is affected."""
        if route.startswith("/_faults"):
            return False
        return self.routes == "all" or route.startswith(self.routes)

    @property
    def replaces_answer(self) -> bool:
        """True when the request is not handled at all (a status or a malformed body)."""
        return self.status is not None or self.malformed

    def to_json(self) -> dict[str, Any]:
        """The switches as ``POST /_faults`` answers them."""
        return asdict(self)


def parse_faults(document: object) -> Faults:
    """The switches of a ``POST /_faults`` body; ValueError naming the field if wrong."""
    if not isinstance(document, dict):
        raise ValueError("a JSON object")
    unknown = set(document) - {"delay", "status", "malformed", "routes"}
    if unknown:
        raise ValueError(f"unknown field {sorted(unknown)[0]}")
    delay = document.get("delay", 0)
    if isinstance(delay, bool) or not isinstance(delay, int | float) or not 0 <= delay <= MAX_DELAY:
        raise ValueError(f"delay: seconds from 0 to {MAX_DELAY:.0f}")
    status = document.get("status")
    if status is not None and (
        isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599
    ):
        raise ValueError("status: an HTTP status from 400 to 599")
    malformed = document.get("malformed", False)
    if not isinstance(malformed, bool):
        raise ValueError("malformed: true or false")
    routes = document.get("routes", "all")
    if routes not in ROUTES:
        raise ValueError(f"routes: one of {', '.join(ROUTES)}")
    return Faults(float(delay), status, malformed, routes)
