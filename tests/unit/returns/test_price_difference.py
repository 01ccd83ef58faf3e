"""Price-difference refunds against the catalogue's price history: the difference to the
lower current price, never more than the line paid, by rule within the protection time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.returns.domain.eligibility import Ask, decide
from services.returns.domain.price_difference import Price
from services.returns.domain.records import Holdings, Line, OrderView, Policy, Reason, Refused

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
POLICY = Policy(
    return_window=timedelta(days=7),
    not_received_after=timedelta(days=5),
    price_protection=timedelta(days=7),
)
LINES = {"l1": Line("l1", "TEA", 2, 5_000, 400), "l2": Line("l2", "CUP", 1, 3_000)}


def paid(days_ago: float) -> OrderView:
    return OrderView(
        order_id="ord_1",
        currency="CNY",
        lines=LINES,
        paid=12_600,
        paid_at=NOW - timedelta(days=days_ago),
    )


def price(amount: int, days_ago: float) -> Price:
    return Price(amount, "CNY", NOW - timedelta(days=days_ago))


def test_a_drop_after_payment_within_the_time_is_refunded_by_rule() -> None:
    prices = {"TEA": price(4_200, 1)}
    decision = decide(paid(3), Ask(Reason.PRICE_DROPPED, None), Holdings(), POLICY, NOW, prices)
    assert decision.amount == 2 * 800
    assert decision.approve_as == "rule"
    assert [(ln.line_id, ln.quantity) for ln in decision.lines] == [("l1", 2), ("l2", 1)]


def test_a_drop_asked_after_the_protection_time_waits_for_operations() -> None:
    prices = {"TEA": price(4_200, 8)}
    decision = decide(paid(9), Ask(Reason.PRICE_DROPPED, None), Holdings(), POLICY, NOW, prices)
    assert decision.amount == 1_600 and decision.approve_as is None


def test_a_price_that_was_already_lower_before_the_payment_waits_for_operations() -> None:
    prices = {"TEA": price(4_200, 5)}
    decision = decide(paid(3), Ask(Reason.PRICE_DROPPED, None), Holdings(), POLICY, NOW, prices)
    assert decision.approve_as is None


def test_the_difference_never_exceeds_what_the_line_was_paid() -> None:
    prices = {"TEA": price(1, 1)}  # almost free now: the line paid 10000 - 400
    asked = Ask(Reason.PRICE_DROPPED, (("l1", 2),))
    decision = decide(paid(2), asked, Holdings(), POLICY, NOW, prices)
    assert decision.amount == 10_000 - 400


def test_no_lower_price_is_refused_naming_the_reason() -> None:
    prices = {"TEA": price(5_500, 1), "CUP": price(3_000, 1)}
    with pytest.raises(Refused) as refused:
        decide(paid(2), Ask(Reason.PRICE_DROPPED, None), Holdings(), POLICY, NOW, prices)
    assert (refused.value.code, refused.value.field) == ("no_lower_price", "reason")


def test_a_price_in_another_currency_is_not_compared() -> None:
    prices = {"TEA": Price(100, "HKD", NOW - timedelta(days=1))}
    with pytest.raises(Refused):
        decide(paid(2), Ask(Reason.PRICE_DROPPED, None), Holdings(), POLICY, NOW, prices)
