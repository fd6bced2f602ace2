"""The billing simulator's pure rules: who may connect or disconnect what, and what it costs."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from simulators.billing_rules import (
    ACTIONS,
    PLANS,
    Accepted,
    Refused,
    Service,
    Snapshot,
    decide,
    joined_names,
    mask_msisdn,
    money,
    valid_msisdn,
)

SOCIAL = Service("social", "Безлимитные соцсети", "Unlimited social apps", 500)


def _snap(**changes: object) -> Snapshot:
    fields: dict[str, object] = {
        "plan": "prepaid",
        "status": "active",
        "balance_cents": 1250,
        "service": SOCIAL,
        "connected": False,
        "pending": None,
    }
    fields.update(changes)
    return Snapshot(**fields)  # type: ignore[arg-type]


snapshots = st.builds(
    Snapshot,
    plan=st.sampled_from(PLANS),
    status=st.sampled_from(("active", "suspended", "blocked")),
    balance_cents=st.integers(0, 10_000),
    service=st.builds(Service, st.just("s"), st.just("С"), st.just("S"), st.integers(0, 10_000)),
    connected=st.booleans(),
    pending=st.sampled_from((None, *ACTIONS)),
)


def test_the_balance_must_pay_for_a_prepaid_connect() -> None:
    """Prepaid: the price exactly is enough, a kopeck less is not."""
    assert decide(_snap(balance_cents=500), "connect") == Accepted(500)
    assert decide(_snap(balance_cents=499), "connect") == Refused("insufficient_balance")


def test_a_contract_goes_on_the_bill() -> None:
    """Contract: connected whatever the balance, nothing taken from it."""
    assert decide(_snap(plan="contract", balance_cents=0), "connect") == Accepted(0)


def test_suspended_comes_first() -> None:
    """A suspended subscriber is refused as suspended even when other rules would also say no."""
    assert decide(_snap(status="suspended", pending="connect"), "connect") == Refused("suspended")
    assert decide(_snap(status="suspended", plan="contract"), "disconnect") == Refused("suspended")


def test_not_active_is_the_reserve_for_other_prepaid_statuses() -> None:
    """A prepaid status other than active or suspended is not_active; a contract's is not."""
    assert decide(_snap(status="blocked"), "connect") == Refused("not_active")
    assert decide(_snap(status="blocked", plan="contract"), "connect") == Accepted(0)


def test_pending_before_connected() -> None:
    """An order not yet effective answers already_pending, whatever the flag says."""
    assert decide(_snap(connected=True, pending="disconnect"), "connect") == Refused(
        "already_pending"
    )
    assert decide(_snap(connected=True), "connect") == Refused("already_connected")
    assert decide(_snap(connected=False), "disconnect") == Refused("not_connected")
    assert decide(_snap(connected=True, balance_cents=0), "disconnect") == Accepted(0)


@given(snapshots, st.sampled_from(ACTIONS))
def test_an_accepted_order_never_overdraws(snapshot: Snapshot, action: str) -> None:
    """Whatever the snapshot: only a prepaid active connect is charged, exactly the price,
    and never beyond the balance; a suspended subscriber is always refused."""
    decision = decide(snapshot, action)  # type: ignore[arg-type]
    if snapshot.status == "suspended":
        assert decision == Refused("suspended")
    if isinstance(decision, Accepted):
        assert snapshot.pending is None and snapshot.connected == (action == "disconnect")
        if action == "connect" and snapshot.plan == "prepaid":
            assert snapshot.status == "active"
            assert decision.charge_cents == snapshot.service.price_cents <= snapshot.balance_cents
        else:
            assert decision.charge_cents == 0


@given(st.text(alphabet="0123456789", min_size=8, max_size=15))
def test_mask_keeps_five_and_two(msisdn: str) -> None:
    """The mask keeps the length, the first 5 and the last 2 digits."""
    masked = mask_msisdn(msisdn)
    assert len(masked) == len(msisdn)
    assert masked[:5] == msisdn[:5] and masked[-2:] == msisdn[-2:]
    assert set(masked[5:-2]) <= {"*"}


def test_mask_and_msisdn_shape() -> None:
    """The example of the contract; short values are starred whole; 9-15 ASCII digits."""
    assert mask_msisdn("375291000001") == "37529*****01"
    assert mask_msisdn("1234567") == "*******"
    assert valid_msisdn("123456789") and valid_msisdn("1" * 15)
    assert not any(valid_msisdn(v) for v in ("12345678", "1" * 16, "+375291000001", "٣٧٥٢٩١٠٠٠٠"))


def test_money_and_names() -> None:
    """Kopecks as 2-decimal numbers; connected names joined, or a dash."""
    assert (money(1250), money(70), money(0)) == (12.5, 0.7, 0.0)
    assert joined_names([SOCIAL, SOCIAL], "en") == "Unlimited social apps, Unlimited social apps"
    assert joined_names([], "ru") == "—"
