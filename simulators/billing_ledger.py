"""The billing simulator's memory: balances, connected services, orders and idempotency keys.

Nothing is written to disk; a restart starts again from the data file. An accepted order
is pending until ``effective_after`` seconds have passed on the injected clock; the flip of
``connected`` is applied lazily, whenever the subscriber (or the order list) is read.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

from simulators.billing_data import BillingData
from simulators.billing_rules import (
    Action,
    Refused,
    Service,
    Snapshot,
    Subscriber,
    decide,
    joined_names,
    money,
)

IDEMPOTENCY_KEYS_KEPT = 10_000
Answer = tuple[int, dict[str, Any]]
"""An HTTP status and its JSON body."""
UNKNOWN_SUBSCRIBER: Answer = (404, {"reason": "unknown_subscriber"})
UNKNOWN_SERVICE: Answer = (404, {"reason": "unknown_service"})


@dataclass
class Order:
    """One accepted connect or disconnect."""

    id: str
    msisdn: str
    service: str
    action: Action
    at: float
    effective_at: float
    charged_cents: int
    key_sha256: str
    effective: bool = False

    def to_json(self) -> dict[str, Any]:
        """The order as ``GET /orders`` lists it (a digest of the key, never the key)."""
        return {
            "id": self.id,
            "msisdn": self.msisdn,
            "service": self.service,
            "action": self.action,
            "at": _iso(self.at),
            "effective_at": _iso(self.effective_at),
            "effective": self.effective,
            "charged": money(self.charged_cents),
            "idempotency_key_sha256": self.key_sha256,
        }


@dataclass
class _Account:
    subscriber: Subscriber
    balance_cents: int
    connected: set[str] = field(default_factory=set)


class _Found(NamedTuple):
    account: _Account
    service: Service


@dataclass(frozen=True)
class _Remembered:
    request: tuple[str, str, str]
    answer: Answer


class Ledger:
    """The live state behind the HTTP routes; every method answers (status, JSON body)."""

    def __init__(
        self, data: BillingData, *, clock: Callable[[], float], effective_after: float
    ) -> None:
        self.data = data
        self.clock = clock
        self.effective_after = effective_after
        self.services = {s.id: s for s in data.services}
        self.accounts = {
            m: _Account(s, s.balance_cents, set(s.connected)) for m, s in data.subscribers.items()
        }
        self.orders: list[Order] = []
        self._pending: dict[tuple[str, str], Order] = {}
        self._keys: OrderedDict[str, _Remembered] = OrderedDict()

    # --- reads -------------------------------------------------------------------------

    def subscriber(self, msisdn: str) -> Answer:
        """``GET /subscribers/{msisdn}``."""
        account = self._account(msisdn)
        if account is None:
            return UNKNOWN_SUBSCRIBER
        s = account.subscriber
        return 200, {
            "msisdn": s.msisdn,
            "plan": s.plan,
            "status": s.status,
            "balance": money(account.balance_cents),
            "currency": self.data.currency,
            "tariff": s.tariff,
            "traffic_left_mb": s.traffic_left_mb,
        }

    def services_of(self, msisdn: str) -> Answer:
        """``GET /subscribers/{msisdn}/services``."""
        account = self._account(msisdn)
        if account is None:
            return UNKNOWN_SUBSCRIBER
        connected = [s for s in self.data.services if s.id in account.connected]
        return 200, {
            "services": [self._service_json(account, s) for s in self.data.services],
            "connected_ru": joined_names(connected, "ru"),
            "connected_en": joined_names(connected, "en"),
            "connected_count": len(connected),
        }

    def service_of(self, msisdn: str, service_id: str) -> Answer:
        """``GET /subscribers/{msisdn}/services/{service_id}``."""
        found = self._account_and_service(msisdn, service_id)
        if not isinstance(found, _Found):
            return found
        account, service = found
        body = self._service_json(account, service)
        return 200, {**body, "name_ru": service.name_ru, "name_en": service.name_en}

    def orders_json(self, msisdn: str | None) -> Answer:
        """``GET /orders[?msisdn=…]``: every accepted order, oldest first."""
        self._apply_due(None)
        chosen = [o for o in self.orders if msisdn is None or o.msisdn == msisdn]
        return 200, {"orders": [o.to_json() for o in chosen]}

    # --- orders ------------------------------------------------------------------------

    def remembered(self, key: str, request: tuple[str, str, str]) -> Answer | None:
        """The first answer given to ``key`` if the request is the same; 422 if it is not;
        None for a key not seen (or forgotten: only the last 10,000 are kept)."""
        seen = self._keys.get(key)
        if seen is None:
            return None
        if seen.request != request:
            return 422, {"reason": "idempotency_key_reused"}
        return seen.answer

    def order(self, key: str, msisdn: str, service_id: str, action: Action) -> Answer:
        """``POST /subscribers/{msisdn}/services/{service_id}``, remembered under ``key``."""
        answer = self._order(key, msisdn, service_id, action)
        self._keys[key] = _Remembered((msisdn, service_id, action), answer)
        while len(self._keys) > IDEMPOTENCY_KEYS_KEPT:
            self._keys.popitem(last=False)
        return answer

    def _order(self, key: str, msisdn: str, service_id: str, action: Action) -> Answer:
        found = self._account_and_service(msisdn, service_id)
        if not isinstance(found, _Found):
            return found
        account, service = found
        decision = decide(self._snapshot(account, service), action)
        if isinstance(decision, Refused):
            return 409, {"reason": decision.reason}
        order = self._accept(account, service, action, decision.charge_cents, key)
        return 200, {
            "result": "accepted",
            "order": order.id,
            "effective_within_hours": 24,
            "balance": money(account.balance_cents),
        }

    def _accept(
        self, account: _Account, service: Service, action: Action, charge_cents: int, key: str
    ) -> Order:
        now = self.clock()
        account.balance_cents -= charge_cents
        order = Order(
            id=f"o-{len(self.orders) + 1:06d}",
            msisdn=account.subscriber.msisdn,
            service=service.id,
            action=action,
            at=now,
            effective_at=now + self.effective_after,
            charged_cents=charge_cents,
            key_sha256=hashlib.sha256(key.encode("utf-8")).hexdigest(),
        )
        self.orders.append(order)
        self._pending[(order.msisdn, order.service)] = order
        return order

    # --- the lazy clock ----------------------------------------------------------------

    def _account(self, msisdn: str) -> _Account | None:
        account = self.accounts.get(msisdn)
        if account is not None:
            self._apply_due(msisdn)
        return account

    def _account_and_service(self, msisdn: str, service_id: str) -> _Found | Answer:
        account = self._account(msisdn)
        if account is None:
            return UNKNOWN_SUBSCRIBER
        service = self.services.get(service_id)
        if service is None:
            return UNKNOWN_SERVICE
        return _Found(account, service)

    def _apply_due(self, msisdn: str | None) -> None:
        now = self.clock()
        due = [
            k
            for k, o in self._pending.items()
            if (msisdn is None or k[0] == msisdn) and o.effective_at <= now
        ]
        for k in due:
            order = self._pending.pop(k)
            connected = self.accounts[order.msisdn].connected
            if order.action == "connect":
                connected.add(order.service)
            else:
                connected.discard(order.service)
            order.effective = True

    def _pending_action(self, account: _Account, service: Service) -> Action | None:
        pending = self._pending.get((account.subscriber.msisdn, service.id))
        return pending.action if pending else None

    def _snapshot(self, account: _Account, service: Service) -> Snapshot:
        return Snapshot(
            plan=account.subscriber.plan,
            status=account.subscriber.status,
            balance_cents=account.balance_cents,
            service=service,
            connected=service.id in account.connected,
            pending=self._pending_action(account, service),
        )

    def _service_json(self, account: _Account, service: Service) -> dict[str, Any]:
        return {
            "id": service.id,
            "name": {"ru": service.name_ru, "en": service.name_en},
            "price": money(service.price_cents),
            "connected": service.id in account.connected,
            "pending": self._pending_action(account, service),
        }


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
