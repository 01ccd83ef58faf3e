"""Refunds of discounted orders with postage: exact to the fen, postage only with the whole
order for the shop's reason, a no-reason return's postage the customer's."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from services.returns.domain.eligibility import Ask, cancellation_refund, decide
from services.returns.domain.records import Holdings, Line, OrderView, Policy, Reason, Refused

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
POLICY = Policy(return_window=timedelta(days=7), not_received_after=timedelta(days=5))
# goods 3 x 3333 + 1 x 5001 = 15000, a 1000 discount shared 667 / 333 (fees.allocate), postage 800
LINES = {"l1": Line("l1", "TEA", 3, 3_333, 667), "l2": Line("l2", "CUP", 1, 5_001, 333)}
PAID = 15_000 - 1_000 + 800


def delivered(**facts: object) -> OrderView:
    at = NOW - timedelta(days=1)
    values: dict[str, object] = {
        "order_id": "ord_1",
        "currency": "CNY",
        "lines": LINES,
        "paid": PAID,
        "shipping_fee": 800,
        "shipped_at": at - timedelta(days=2),
        "delivered_at": at,
    }
    return OrderView(**(values | facts))  # type: ignore[arg-type]


def test_units_of_a_line_refunded_one_by_one_add_up_to_what_the_line_cost() -> None:
    line = LINES["l1"]
    parts = [line.paid_for(1, already) for already in range(3)]
    assert sum(parts) == 3 * 3_333 - 667
    assert parts == [3_111, 3_111, 3_110]


def test_a_partial_return_refunds_the_lines_less_their_share_of_the_discount() -> None:
    decision = decide(delivered(), Ask(Reason.CHANGED_MIND, (("l2", 1),)), Holdings(), POLICY, NOW)
    assert decision.amount == 5_001 - 333
    assert decision.return_shipping_paid_by == "customer"


def test_a_second_unit_after_one_returned_takes_the_next_share() -> None:
    held = Holdings(committed=3_111, used_quantity={"l1": 1})
    decision = decide(delivered(), Ask(Reason.DAMAGED, (("l1", 2),)), held, POLICY, NOW)
    assert decision.amount == 3_111 + 3_110


def test_the_whole_order_for_a_quality_problem_refunds_the_postage_too() -> None:
    decision = decide(delivered(), Ask(Reason.DAMAGED, None), Holdings(), POLICY, NOW)
    assert decision.amount == PAID
    assert decision.return_shipping_paid_by == "shop"


def test_the_whole_order_without_a_reason_keeps_the_postage() -> None:
    decision = decide(delivered(), Ask(Reason.CHANGED_MIND, None), Holdings(), POLICY, NOW)
    assert decision.amount == PAID - 800


def test_a_lost_parcel_refunds_goods_and_postage() -> None:
    order = delivered(delivered_at=None, shipped_at=NOW - timedelta(days=9))
    decision = decide(order, Ask(Reason.LOST, None), Holdings(), POLICY, NOW)
    assert decision.amount == PAID


def test_a_deducted_return_label_comes_off_a_no_reason_refund_only() -> None:
    policy = replace(POLICY, return_postage_mode="deducted", return_postage=1_200)
    no_reason = decide(delivered(), Ask(Reason.CHANGED_MIND, (("l2", 1),)), Holdings(), policy, NOW)
    quality = decide(delivered(), Ask(Reason.DAMAGED, (("l2", 1),)), Holdings(), policy, NOW)
    assert no_reason.amount == 5_001 - 333 - 1_200
    assert quality.amount == 5_001 - 333


def test_a_label_dearer_than_the_refund_is_refused() -> None:
    policy = replace(POLICY, return_postage_mode="deducted", return_postage=9_000)
    with pytest.raises(Refused) as refused:
        decide(delivered(), Ask(Reason.CHANGED_MIND, (("l2", 1),)), Holdings(), policy, NOW)
    assert (refused.value.code, refused.value.field) == ("over_refund", "lines")


def test_every_line_returned_separately_never_exceeds_what_the_goods_cost() -> None:
    first = decide(delivered(), Ask(Reason.CHANGED_MIND, (("l1", 3),)), Holdings(), POLICY, NOW)
    held = Holdings(committed=first.amount, used_quantity={"l1": 3})
    second = decide(delivered(), Ask(Reason.CHANGED_MIND, (("l2", 1),)), held, POLICY, NOW)
    assert first.amount + second.amount == 15_000 - 1_000


def test_a_cancellation_before_shipping_returns_the_whole_payment() -> None:
    unshipped = delivered(shipped_at=None, delivered_at=None)
    decision = cancellation_refund(unshipped, Holdings(), "customer_request")
    assert decision is not None and decision.amount == PAID
