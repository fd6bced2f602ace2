"""The billing simulator's state under any sequence of orders, retries and passing time."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from support import FakeClock

from simulators.billing_data import load_data
from simulators.billing_ledger import Ledger

DATA = load_data()
MSISDNS = sorted(DATA.subscribers)
SERVICES = [s.id for s in DATA.services]

steps = st.lists(
    st.one_of(
        st.tuples(
            st.just("order"),
            st.sampled_from(MSISDNS),
            st.sampled_from(SERVICES),
            st.sampled_from(("connect", "disconnect")),
            st.integers(0, 15),  # few keys: retries and reuses happen
        ),
        st.tuples(st.just("wait"), st.sampled_from((1.0, 30.0, 60.0))),
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(steps)
def test_orders_keep_the_books(sequence: list[tuple[object, ...]]) -> None:
    """Whatever happens: no prepaid balance goes negative, each balance is its start less
    the charges of its orders, a key's answer never changes, and a service is never
    ordered twice while an order on it is pending."""
    clock = FakeClock()
    ledger = Ledger(DATA, clock=clock, effective_after=60.0)
    first_answer: dict[str, tuple[tuple[object, ...], object]] = {}
    for step in sequence:
        if step[0] == "wait":
            clock.advance(float(step[1]))  # type: ignore[arg-type]
            continue
        _, msisdn, service, action, n = step
        key, request = f"k{n}", (msisdn, service, action)
        answer = ledger.remembered(key, request)  # type: ignore[arg-type]
        if answer is None:
            answer = ledger.order(key, msisdn, service, action)  # type: ignore[arg-type]
        if key in first_answer and first_answer[key][0] == request:
            assert answer == first_answer[key][1]
        elif key in first_answer:
            assert answer == (422, {"reason": "idempotency_key_reused"})
        else:
            first_answer[key] = (request, answer)
    pending = [(o.msisdn, o.service) for o in ledger.orders if not o.effective]
    assert len(pending) == len(set(pending))
    for msisdn, account in ledger.accounts.items():
        charged = sum(o.charged_cents for o in ledger.orders if o.msisdn == msisdn)
        start = DATA.subscribers[msisdn].balance_cents
        assert account.balance_cents == start - charged >= 0
        if account.subscriber.plan == "contract" or account.subscriber.status == "suspended":
            assert charged == 0
