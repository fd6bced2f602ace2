"""The billing simulator's data: the services catalogue and the subscribers, from YAML.

``simulators/billing_data.yaml`` (package data) is the demo; ``--data FILE`` replaces it.
The file is checked whole on load and a mistake names its key::

    billing data demo.yaml: subscribers.375291000001.balance: a number with at most 2 decimals

Shape (every key required, no others)::

    currency: BYN
    services:
      roaming: {ru: Международный роуминг, en: International roaming, price: 0.00}
    subscribers:
      "375291000001": {plan: prepaid, status: active, balance: 12.50, tariff: Comfort,
                       traffic_left_mb: 1536, connected: [roaming]}

The loader keeps ``yes``/``no``/``on``/``off`` as strings and refuses duplicate keys.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from importlib.resources import files
from pathlib import Path
from typing import Any, cast

import yaml

from simulators.billing_rules import (
    PLANS,
    STATUSES,
    Plan,
    Service,
    Status,
    Subscriber,
    valid_msisdn,
)

DEMO_DATA = "billing_data.yaml"
_SERVICE_KEYS = ("ru", "en", "price")
_SUBSCRIBER_KEYS = ("plan", "status", "balance", "tariff", "traffic_left_mb", "connected")


class BillingDataError(ValueError):
    """The data file is not what the simulator serves; ``key`` is the dotted path at fault."""

    def __init__(self, source: str, key: str, problem: str) -> None:
        super().__init__(f"billing data {source}: {key}: {problem}")
        self.source = source
        self.key = key
        self.problem = problem


@dataclass(frozen=True)
class BillingData:
    """The catalogue (in the file's order) and the subscribers by msisdn."""

    currency: str
    services: tuple[Service, ...]
    subscribers: Mapping[str, Subscriber]


class _Loader(yaml.SafeLoader):
    """Safe YAML: only ``true``/``false`` are booleans, and a key may appear once."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|false)$"), list("tf"))


def load_data(path: Path | None = None) -> BillingData:
    """``path``'s data, or the packaged demo when ``path`` is None."""
    if path is None:
        text = files("simulators").joinpath(DEMO_DATA).read_text(encoding="utf-8")
        source = DEMO_DATA
    else:
        source = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise BillingDataError(source, "(file)", f"cannot read: {exc}") from exc
    try:
        document = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.YAMLError as exc:
        raise BillingDataError(source, "(file)", f"not YAML: {exc}") from exc
    return parse_data(document, source)


def parse_data(document: object, source: str = "(data)") -> BillingData:
    """The checked data of a parsed YAML ``document``; :class:`BillingDataError` if not."""
    top = _mapping(source, "(top)", document, ("currency", "services", "subscribers"))
    currency = _text(source, "currency", top["currency"])
    services_doc = _mapping(source, "services", top["services"])
    services: list[Service] = []
    for sid, raw in services_doc.items():
        where = f"services.{sid}"
        if not isinstance(sid, str) or not sid.isascii() or not sid.isidentifier():
            raise BillingDataError(source, where, "a service id is a plain ASCII word")
        fields = _mapping(source, where, raw, _SERVICE_KEYS)
        services.append(
            Service(
                sid,
                _text(source, f"{where}.ru", fields["ru"]),
                _text(source, f"{where}.en", fields["en"]),
                _cents(source, f"{where}.price", fields["price"]),
            )
        )
    known = {s.id for s in services}
    subscribers: dict[str, Subscriber] = {}
    for msisdn, raw in _mapping(source, "subscribers", top["subscribers"]).items():
        where = f"subscribers.{msisdn}"
        if not isinstance(msisdn, str) or not valid_msisdn(msisdn):
            raise BillingDataError(source, where, "an msisdn is a quoted string of 9-15 digits")
        fields = _mapping(source, where, raw, _SUBSCRIBER_KEYS)
        subscribers[msisdn] = Subscriber(
            msisdn,
            cast(Plan, _choice(source, f"{where}.plan", fields["plan"], PLANS)),
            cast(Status, _choice(source, f"{where}.status", fields["status"], STATUSES)),
            _cents(source, f"{where}.balance", fields["balance"]),
            _text(source, f"{where}.tariff", fields["tariff"]),
            _count(source, f"{where}.traffic_left_mb", fields["traffic_left_mb"]),
            _connected(source, f"{where}.connected", fields["connected"], known),
        )
    return BillingData(currency, tuple(services), subscribers)


def _mapping(
    source: str, where: str, value: object, keys: tuple[str, ...] | None = None
) -> dict[Any, Any]:
    if not isinstance(value, dict):
        raise BillingDataError(source, where, "a mapping")
    if keys is not None:
        for key in keys:
            if key not in value:
                raise BillingDataError(source, _child(where, key), "missing")
        for key in value:
            if key not in keys:
                known = ", ".join(keys)
                raise BillingDataError(source, _child(where, key), f"unknown key (known: {known})")
    return value


def _child(where: str, key: object) -> str:
    """The dotted path of ``key`` under ``where`` (a top-level key is its own name)."""
    return f"{where}.{key}".removeprefix("(top).")


def _text(source: str, where: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BillingDataError(source, where, "a non-empty string")
    return value


def _choice(source: str, where: str, value: object, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise BillingDataError(source, where, f"one of {', '.join(choices)}, not {value!r}")
    return value


def _count(source: str, where: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BillingDataError(source, where, "a whole number, 0 or more")
    return value


def _cents(source: str, where: str, value: object) -> int:
    problem = "a number, 0 or more, with at most 2 decimals"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BillingDataError(source, where, problem)
    amount = Decimal(str(value))
    try:
        exact = amount.is_finite() and amount >= 0 and amount == amount.quantize(Decimal("0.01"))
    except InvalidOperation:  # too many digits to quantize
        exact = False
    if not exact:
        raise BillingDataError(source, where, problem)
    return int(amount * 100)


def _connected(source: str, where: str, value: object, known: set[str]) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BillingDataError(source, where, "a list of service ids")
    for sid in value:
        if sid not in known:
            raise BillingDataError(source, where, f"{sid!r} is not in services")
    return frozenset(value)
