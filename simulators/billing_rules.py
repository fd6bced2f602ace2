"""The billing simulator's decisions, pure: a snapshot of one subscriber and one service in,
a decision out (no clock, no I/O, no aiohttp).

The rules are the operator's (seed 001 §1.8, §1.9), checked in this order:

1. a suspended subscriber (by the subscriber or the operator), whatever the plan, may
   neither connect nor disconnect: ``suspended``;
2. a prepaid subscriber in any other status than active: ``not_active`` (the data knows
   only active and suspended, so this is a reserve);
3. an order for this service not yet effective: ``already_pending``;
4. connecting a connected service ``already_connected``, disconnecting one that is not
   ``not_connected``;
5. a prepaid connect with less balance than the price: ``insufficient_balance``.

Otherwise the order is accepted: a prepaid connect is charged the price from the balance;
a contract connect goes on the bill (nothing taken from the balance); a disconnect is free.
Money is integer kopecks (``*_cents``) here and a 2-decimal JSON number on the wire.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Plan = Literal["prepaid", "contract"]
Status = Literal["active", "suspended"]
Action = Literal["connect", "disconnect"]
PLANS: tuple[Plan, ...] = ("prepaid", "contract")
STATUSES: tuple[Status, ...] = ("active", "suspended")
ACTIONS: tuple[Action, ...] = ("connect", "disconnect")
NONE_CONNECTED = "—"
"""What ``connected_ru``/``connected_en`` say when no service is connected."""

_MSISDN = re.compile(r"[0-9]{9,15}")


@dataclass(frozen=True)
class Service:
    """One service of the catalogue; ``price_cents`` is what a connect costs."""

    id: str
    name_ru: str
    name_en: str
    price_cents: int


@dataclass(frozen=True)
class Subscriber:
    """A subscriber as the demo data gives it (``connected``: the services at start)."""

    msisdn: str
    plan: Plan
    status: Status
    balance_cents: int
    tariff: str
    traffic_left_mb: int
    connected: frozenset[str]


@dataclass(frozen=True)
class Snapshot:
    """What a decision looks at: the subscriber now, the service, and its state for them."""

    plan: Plan
    status: str
    balance_cents: int
    service: Service
    connected: bool
    pending: Action | None


@dataclass(frozen=True)
class Accepted:
    """The order is taken; ``charge_cents`` comes off the balance now."""

    charge_cents: int


@dataclass(frozen=True)
class Refused:
    """The order is refused with ``reason`` (the 409 answer's)."""

    reason: str


Decision = Accepted | Refused
"""What :func:`decide` answers."""


def decide(snapshot: Snapshot, action: Action) -> Decision:
    """Whether ``action`` on the snapshot's service is accepted, and what it costs."""
    if snapshot.status == "suspended":
        return Refused("suspended")
    if snapshot.plan == "prepaid" and snapshot.status != "active":
        return Refused("not_active")
    if snapshot.pending is not None:
        return Refused("already_pending")
    if action == "connect" and snapshot.connected:
        return Refused("already_connected")
    if action == "disconnect" and not snapshot.connected:
        return Refused("not_connected")
    if action == "disconnect" or snapshot.plan == "contract":
        return Accepted(0)
    if snapshot.balance_cents < snapshot.service.price_cents:
        return Refused("insufficient_balance")
    return Accepted(snapshot.service.price_cents)


def valid_msisdn(value: str) -> bool:
    """9 to 15 ASCII digits, nothing else (no ``+``)."""
    return _MSISDN.fullmatch(value) is not None


def mask_msisdn(value: str) -> str:
    """The first 5 and last 2 characters kept, the rest starred (shorter ones all starred)."""
    if len(value) < 8:
        return "*" * len(value)
    return value[:5] + "*" * (len(value) - 7) + value[-2:]


def money(cents: int) -> float:
    """Kopecks as the wire's 2-decimal number (1250 → 12.5)."""
    return round(cents / 100, 2)


def joined_names(services: Iterable[Service], lang: Literal["ru", "en"]) -> str:
    """The services' names in ``lang`` joined with ", ", or "—" when there are none."""
    names = [s.name_ru if lang == "ru" else s.name_en for s in services]
    return ", ".join(names) if names else NONE_CONNECTED
