"""The refund rules: which flow, how much, who pays the return, the window and the rule."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from services.returns.domain.eligibility import Ask, cancellation_refund, decide, rule_due_at
from services.returns.domain.records import (
    Holdings,
    Line,
    OrderView,
    Policy,
    Reason,
    Refused,
    Status,
)
from services.returns.domain.transitions import require_return, require_status
from shared.contracts.events.returns import RefundFlow

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
POLICY = Policy(return_window=timedelta(days=7), not_received_after=timedelta(days=5))
LINES = {
    "l1": Line("l1", "SKU-TEA", 2, 5_000),
    "l2": Line("l2", "SKU-CUP", 1, 3_000),
}


def order(**facts: object) -> OrderView:
    values: dict[str, object] = {
        "order_id": "ord_1",
        "currency": "CNY",
        "lines": LINES,
        "paid": 13_000,
    }
    values.update(facts)
    return OrderView(**values)  # type: ignore[arg-type]


def delivered(days_ago: float) -> OrderView:
    at = NOW - timedelta(days=days_ago)
    return order(shipped_at=at - timedelta(days=2), delivered_at=at)


def refused(order_view: OrderView | None, ask: Ask, held: Holdings | None = None) -> Refused:
    with pytest.raises(Refused) as caught:
        decide(order_view, ask, held or Holdings(), POLICY, NOW)
    return caught.value


WHOLE = Ask(Reason.CHANGED_MIND, None)


def test_paid_not_shipped_is_refunded_before_shipping_and_approved_at_once() -> None:
    decision = decide(order(), WHOLE, Holdings(), POLICY, NOW)
    assert decision.flow is RefundFlow.BEFORE_SHIPPING
    assert decision.approve_as == "rule"
    assert decision.amount == 13_000
    assert {(ln.line_id, ln.quantity) for ln in decision.lines} == {("l1", 2), ("l2", 1)}
    assert decision.return_shipping_paid_by is None


def test_a_whole_order_request_refunds_what_was_paid_minus_what_is_held() -> None:
    decision = decide(order(), WHOLE, Holdings(committed=3_000), POLICY, NOW)
    assert decision.amount == 10_000


def test_a_line_is_refunded_at_its_unit_price_times_the_quantity() -> None:
    decision = decide(delivered(1), Ask(Reason.CHANGED_MIND, (("l1", 1),)), Holdings(), POLICY, NOW)
    assert decision.amount == 5_000
    assert decision.flow is RefundFlow.WITH_RETURN
    assert decision.approve_as is None


@pytest.mark.parametrize(
    ("reason", "payer"),
    [
        (Reason.CHANGED_MIND, "customer"),
        (Reason.DAMAGED, "shop"),
        (Reason.WRONG_ITEM, "shop"),
        (Reason.QUALITY_PROBLEM, "shop"),
    ],
)
def test_return_shipping_is_the_shops_only_for_quality_problems(reason: Reason, payer: str) -> None:
    decision = decide(delivered(1), Ask(reason, (("l2", 1),)), Holdings(), POLICY, NOW)
    assert decision.return_shipping_paid_by == payer


def test_inside_the_window_any_reason_is_returned() -> None:
    decision = decide(delivered(6.9), Ask(Reason.CHANGED_MIND, None), Holdings(), POLICY, NOW)
    assert decision.flow is RefundFlow.WITH_RETURN


def test_the_last_moment_of_the_window_still_counts() -> None:
    decision = decide(delivered(7), Ask(Reason.CHANGED_MIND, None), Holdings(), POLICY, NOW)
    assert decision.flow is RefundFlow.WITH_RETURN


def test_after_the_window_a_no_reason_return_is_refused_saying_why_and_when() -> None:
    error = refused(delivered(8), Ask(Reason.CHANGED_MIND, None))
    assert (error.kind, error.code, error.field) == (
        "unprocessable",
        "return_window_closed",
        "reason",
    )
    assert "7-day" in error.message and "2026-11-19 12:00" in error.message
    assert "quality" in error.message


@pytest.mark.parametrize("reason", [Reason.DAMAGED, Reason.WRONG_ITEM, Reason.QUALITY_PROBLEM])
def test_after_the_window_quality_problems_are_still_returned(reason: Reason) -> None:
    decision = decide(delivered(30), Ask(reason, (("l1", 1),)), Holdings(), POLICY, NOW)
    assert decision.flow is RefundFlow.WITH_RETURN
    assert decision.return_shipping_paid_by == "shop"


def test_a_parcel_not_arrived_long_after_the_promise_is_refunded_by_rule() -> None:
    late = order(promised_ship_date=date(2026, 11, 10), shipped_at=NOW - timedelta(days=9))
    decision = decide(late, Ask(Reason.NOT_RECEIVED, None), Holdings(), POLICY, NOW)
    assert (decision.flow, decision.approve_as) == (RefundFlow.NO_RETURN, "rule")


def test_a_parcel_not_arrived_yet_waits_for_the_rule_or_operations() -> None:
    shipped = order(promised_ship_date=date(2026, 11, 19), shipped_at=NOW - timedelta(hours=20))
    decision = decide(shipped, Ask(Reason.LOST, None), Holdings(), POLICY, NOW)
    assert decision.approve_as is None
    assert decision.rule_due_at == NOW - timedelta(hours=20) + timedelta(days=5)


def test_the_rule_counts_from_the_later_of_the_promise_and_the_shipping() -> None:
    early = order(promised_ship_date=date(2026, 11, 22), shipped_at=NOW)
    assert rule_due_at(early, POLICY) == datetime(2026, 11, 27, tzinfo=UTC)


def test_a_parcel_in_transit_cannot_be_returned_yet() -> None:
    in_transit = order(shipped_at=NOW - timedelta(days=1))
    error = refused(in_transit, Ask(Reason.CHANGED_MIND, None))
    assert (error.code, error.field) == ("parcel_in_transit", "reason")


def test_a_price_difference_with_an_amount_waits_for_operations() -> None:
    decision = decide(delivered(1), Ask(Reason.PRICE_DROPPED, None, 800), Holdings(), POLICY, NOW)
    assert (decision.flow, decision.amount, decision.approve_as) == (
        RefundFlow.NO_RETURN,
        800,
        None,
    )
    # without an amount it is reckoned from the price history: none lower, nothing owed
    error = refused(delivered(1), Ask(Reason.PRICE_DROPPED, None))
    assert (error.code, error.field) == ("no_lower_price", "reason")


def test_an_amount_is_only_for_a_price_difference() -> None:
    error = refused(delivered(1), Ask(Reason.DAMAGED, (("l1", 1),), 100))
    assert (error.code, error.field) == ("amount_not_allowed", "amount")


def test_asking_for_more_than_was_paid_is_refused_naming_the_amount() -> None:
    error = refused(delivered(1), Ask(Reason.PRICE_DROPPED, None, 13_001))
    assert (error.kind, error.code, error.field) == ("unprocessable", "over_refund", "amount")
    assert "13000" in error.message


def test_a_line_beyond_what_is_left_after_refunds_is_refused() -> None:
    held = Holdings(committed=10_000)
    error = refused(delivered(1), Ask(Reason.DAMAGED, (("l1", 1),)), held)
    assert (error.code, error.field) == ("over_refund", "lines")


def test_a_quantity_already_returned_cannot_be_returned_again() -> None:
    held = Holdings(committed=5_000, used_quantity={"l1": 1})
    assert (
        decide(delivered(1), Ask(Reason.DAMAGED, (("l1", 1),)), held, POLICY, NOW).amount == 5_000
    )
    error = refused(delivered(1), Ask(Reason.DAMAGED, (("l1", 2),)), held)
    assert (error.code, error.field) == ("over_refund", "lines[0].quantity")


def test_a_line_with_an_open_request_is_a_conflict() -> None:
    error = refused(
        delivered(1), Ask(Reason.DAMAGED, (("l2", 1),)), Holdings(open_lines=frozenset({"l2"}))
    )
    assert (error.kind, error.code) == ("conflict", "line_has_open_request")


def test_an_unknown_line_is_named() -> None:
    error = refused(delivered(1), Ask(Reason.DAMAGED, (("l1", 1), ("nope", 1))))
    assert (error.code, error.field) == ("unknown_line", "lines[1].line_id")


def test_nothing_left_to_refund_is_refused() -> None:
    error = refused(order(), WHOLE, Holdings(committed=13_000))
    assert error.code == "over_refund"


@pytest.mark.parametrize(
    ("view", "kind", "code"),
    [
        (None, "not_found", "order_unknown"),
        (OrderView("ord_1"), "not_found", "order_unknown"),
        (order(paid=0), "conflict", "order_not_paid"),
        (order(ended="closed"), "conflict", "order_closed"),
        (order(ended="cancelled"), "conflict", "order_cancelled"),
        (order(ended="refused", paid=0), "conflict", "order_refused"),
    ],
)
def test_orders_that_cannot_be_refunded_by_request(
    view: OrderView | None, kind: str, code: str
) -> None:
    error = refused(view, WHOLE)
    assert (error.kind, error.code) == (kind, code)


def test_the_cancellation_refund_takes_what_is_left_and_the_free_lines() -> None:
    held = Holdings(committed=3_000, open_lines=frozenset({"l2"}), used_quantity={"l2": 1})
    decision = cancellation_refund(order(), held, "stock_shortage")
    assert decision is not None
    assert (decision.flow, decision.amount, decision.approve_as) == (
        RefundFlow.BEFORE_SHIPPING,
        10_000,
        "system",
    )
    assert [(ln.line_id, ln.quantity) for ln in decision.lines] == [("l1", 2)]
    assert cancellation_refund(order(), Holdings(committed=13_000), "stock_shortage") is None


def test_steps_only_follow_from_the_right_states() -> None:
    require_status("requested", (Status.REQUESTED,), "approve")
    with pytest.raises(Refused) as caught:
        require_status("refunded", (Status.REQUESTED,), "approve")
    assert (caught.value.kind, caught.value.state) == ("conflict", "refunded")
    with pytest.raises(Refused) as no_return:
        require_return("no_return", "requested", "receive a return")
    assert no_return.value.code == "no_return_needed"


def test_before_shipping_only_the_whole_order_is_refunded_since_the_shipment_stops() -> None:
    error = refused(order(), Ask(Reason.CHANGED_MIND, (("l1", 1),)))
    assert error.code == "whole_order_only" and error.field == "lines"
    every_line = decide(
        order(), Ask(Reason.CHANGED_MIND, (("l1", 2), ("l2", 1))), Holdings(), POLICY, NOW
    )
    assert every_line.flow is RefundFlow.BEFORE_SHIPPING and every_line.amount == 13_000
