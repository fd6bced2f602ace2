"""The billing simulator's data file: the packaged demo loads, and a mistake names its key."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulators.billing_data import BillingDataError, load_data
from simulators.billing_rules import Service

GOOD = """\
currency: BYN
services:
  social: {ru: Безлимитные соцсети, en: Unlimited social apps, price: 5.00}
subscribers:
  "375291000001":
    plan: prepaid
    status: active
    balance: 12.50
    tariff: Comfort
    traffic_left_mb: 1536
    connected: [social]
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "billing.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_demo_data() -> None:
    """The packaged demo: four services with their prices and the seven demo numbers."""
    data = load_data()
    assert data.currency == "BYN"
    assert data.services == (
        Service("roaming", "Международный роуминг", "International roaming", 0),
        Service("social", "Безлимитные соцсети", "Unlimited social apps", 500),
        Service("antiid", "Антиопределитель номера", "Caller ID block", 250),
        Service("music", "Музыка", "Music", 390),
    )
    assert sorted(data.subscribers) == [
        "375251000004", "375291000001", "375291000005", "375291000006", "375291000007",
        "375331000002", "375441000003",
    ]  # fmt: skip
    first = data.subscribers["375291000001"]
    assert (first.balance_cents, first.tariff, first.traffic_left_mb, first.connected) == (
        1250,
        "Comfort",
        1536,
        frozenset({"roaming"}),
    )


def test_a_file_replaces_the_demo(tmp_path: Path) -> None:
    """--data's file is all the simulator knows."""
    data = load_data(_write(tmp_path, GOOD))
    assert list(data.subscribers) == ["375291000001"] and data.services[0].price_cents == 500


SUB = "subscribers.375291000001"
"""The dotted path of GOOD's one subscriber."""


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("currency: BYN\n", "", "currency"),
        ("    tariff: Comfort\n", "", f"{SUB}.tariff"),
        ("    plan: prepaid\n", "    plan: prepaid\n    colour: red\n", f"{SUB}.colour"),
        ("plan: prepaid", "plan: payg", f"{SUB}.plan"),
        ("status: active", "status: yes", f"{SUB}.status"),
        *[
            ("balance: 12.50", f"balance: {bad}", f"{SUB}.balance")
            for bad in ("12.505", "-1", "'12.50'", ".inf")
        ],
        ("traffic_left_mb: 1536", "traffic_left_mb: 1.5", f"{SUB}.traffic_left_mb"),
        ("connected: [social]", "connected: [tv]", f"{SUB}.connected"),
        ("connected: [social]", "connected: social", f"{SUB}.connected"),
        ('"375291000001":', "375291000001:", SUB),
        ('"375291000001":', '"+375291000001":', "subscribers.+375291000001"),
        ("price: 5.00}", "price: five}", "services.social.price"),
        ("en: Unlimited social apps, ", "", "services.social.en"),
        ("social: {", "soc ial: {", "services.soc ial"),
    ],
)
def test_a_mistake_names_its_key(tmp_path: Path, old: str, new: str, key: str) -> None:
    """Each wrong, missing or unknown field is refused with its dotted path."""
    assert old in GOOD
    with pytest.raises(BillingDataError) as caught:
        load_data(_write(tmp_path, GOOD.replace(old, new, 1)))
    assert caught.value.key == key
    assert str(caught.value).startswith(f"billing data {tmp_path / 'billing.yaml'}: {key}: ")


def test_duplicate_keys_and_non_yaml_are_refused(tmp_path: Path) -> None:
    """A key given twice (the second would silently win) and a file that is not YAML."""
    doubled = GOOD + '  "375291000001":\n    plan: contract\n'
    with pytest.raises(BillingDataError, match="duplicate key '375291000001'"):
        load_data(_write(tmp_path, doubled))
    with pytest.raises(BillingDataError, match="not YAML"):
        load_data(_write(tmp_path, "services: [unclosed\n"))
    with pytest.raises(BillingDataError, match=r"\(top\): a mapping"):
        load_data(_write(tmp_path, "- just a list\n"))
    with pytest.raises(BillingDataError, match="cannot read"):
        load_data(tmp_path / "missing.yaml")
