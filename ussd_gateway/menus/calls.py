"""Back-end calls a menu names: what a call is, what it came to, and who makes it.

A menu's ``calls`` section describes requests to the operator's back-ends by name::

    calls:
      load_account:
        backend: billing                    # a [backends.billing] of the gateway's TOML
        method: GET
        path: "/subscribers/{msisdn}"
        save: {balance: balance, tariff: tariff}

A call is an action of the machine (``on: load_account``). Its path and body are filled
from the session's values (``values.py``): in the path every value is percent-encoded
(a typed ``../x`` or ``?`` stays inside its segment), in the body a string that is exactly
one ``{name}`` keeps the value's JSON type. The base URL, the credential, the timeout and
TLS are the back-end's, from configuration: a menu names a back-end and a relative path,
never a host, a file or the environment.

What a call comes to (:class:`CallOutcome`): the answer's fields saved into the session
(``OK``), a business refusal with its reason (``REFUSED``: a 4xx whose JSON has a
``reason``), or a failure (``FAILED``: no answer in time, a 5xx, an answer that is not the
JSON it should be, the circuit open). The caller (:class:`Caller`, ``ussd_gateway/backends``)
makes the request; this module only describes it, so the menus room stays free of I/O.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote

from ussd_gateway.menus.messages import PLACEHOLDER
from ussd_gateway.menus.values import Values, shown

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
"""Methods that change something: they carry an idempotency key (``Idempotency-Key``)."""

FIELD_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
"""Where a saved value is in the JSON answer: ``balance``, ``tariff.name``."""


class CallOutcome(enum.StrEnum):
    """What a call came to."""

    OK = "ok"
    REFUSED = "refused"
    FAILED = "failed"


class OnFailure(enum.StrEnum):
    """What a failed call does to the hop."""

    END = "end"
    """The session ends with the apology (``backend_unavailable``): the default."""
    BRANCH = "branch"
    """The machine goes on; ``call_failed`` is true for its guards."""


@dataclass(frozen=True, slots=True)
class CallSpec:
    """One ``calls`` entry, as checked."""

    name: str
    backend: str
    method: str
    path: str
    body: Mapping[str, Any] | None = None
    save: Mapping[str, str] = field(default_factory=dict)
    """Session value name → field path in the JSON answer."""
    on_failure: OnFailure = OnFailure.END

    @property
    def changes(self) -> bool:
        """Whether the call changes something at the back-end (it carries a key)."""
        return self.method in CHANGING

    def path_for(self, values: Values) -> str:
        """The path with its placeholders filled, each value percent-encoded whole, its dots
        too: a typed ``..`` is a segment's text, never a step up the back-end's paths."""
        return PLACEHOLDER.sub(lambda m: _segment(values.get(m.group(1))), self.path)

    def body_for(self, values: Values) -> dict[str, Any] | None:
        """The JSON body with its placeholders filled (``None``: no body)."""
        return None if self.body is None else {k: _filled(v, values) for k, v in self.body.items()}


def _segment(value: Any) -> str:
    return quote(shown(value), safe="").replace(".", "%2E")


def _filled(template: Any, values: Values) -> Any:
    if isinstance(template, str):
        whole = PLACEHOLDER.fullmatch(template)
        if whole is not None:
            return values.get(whole.group(1))
        return PLACEHOLDER.sub(lambda m: shown(values.get(m.group(1))), template)
    if isinstance(template, Mapping):
        return {k: _filled(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [_filled(v, values) for v in template]
    return template


@dataclass(frozen=True, slots=True)
class CallResult:
    """What a call came to: the saved values (``OK``) or the refusal's reason."""

    outcome: CallOutcome
    saved: Mapping[str, Any] = field(default_factory=dict)
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class CallContext:
    """What a call needs from its hop besides the session's values."""

    idempotency_key: str
    """Derived from the session and the hop: a retried or repeated hop sends the same one."""
    deadline: float
    """``time.monotonic()`` by which the hop must answer: a call gets what is left."""


class Caller(Protocol):
    """Makes a menu's back-end calls (``ussd_gateway/backends/caller.py``)."""

    async def call(self, spec: CallSpec, values: Values, context: CallContext) -> CallResult:
        """Make the call; never raises (a failure is a ``FAILED`` result)."""
        ...


class NoBackends:
    """The caller of a gateway with no back-ends configured: every call fails (the menu
    checker refuses a menu naming an unknown back-end, so only tests get here)."""

    async def call(self, spec: CallSpec, values: Values, context: CallContext) -> CallResult:
        return CallResult(CallOutcome.FAILED)


def saved_fields(spec: CallSpec, answer: Any) -> dict[str, Any] | None:
    """The session values ``spec`` saves from a JSON ``answer``, or ``None`` when the answer
    lacks a field or holds one the session cannot keep (an object, a long text, a long list):
    then the answer is not the one the menu was written against, and the call failed."""
    saved: dict[str, Any] = {}
    for name, where in spec.save.items():
        value: Any = answer
        for part in where.split("."):
            if not isinstance(value, Mapping) or part not in value:
                return None
            value = value[part]
        if not _keepable(value):
            return None
        saved[name] = value
    return saved


MAX_TEXT = 160
"""Characters of one saved text: a screen is 182 at most."""
MAX_ITEMS = 20
"""Items of one saved list: a USSD screen shows fewer."""


def _keepable(value: Any) -> bool:
    if value is None or isinstance(value, (bool, int, float)):
        return True
    if isinstance(value, str):
        return len(value) <= MAX_TEXT
    if isinstance(value, list):
        return len(value) <= MAX_ITEMS and all(
            v is None
            or isinstance(v, (bool, int, float))
            or (isinstance(v, str) and len(v) <= MAX_TEXT)
            for v in value
        )
    return False
