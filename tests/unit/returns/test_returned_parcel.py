"""The refund of a paid parcel refused at the door and back with the shop: the goods not yet
refunded, after their share of the discount, never the postage, never more than is left."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.returns.domain.eligibility import returned_parcel_refund
from services.returns.domain.records import Holdings, Line, OrderView
from shared.contracts.events.returns import RefundFlow

# 3 teas at 33.33 with 6.67 of discount, a cup at 50.01 with 3.33; postage 8.00
LINES = {"l1": Line("l1", "TEA", 3, 3_333, 667), "l2": Line("l2", "CUP", 1, 5_001, 333)}
PAID = 3 * 3_333 - 667 + 5_001 - 333 + 800


def order(**facts: Any) -> OrderView:
    values: dict[str, Any] = {"order_id": "ord_1", "currency": "CNY", "lines": LINES, "paid": PAID,
                    "shipping_fee": 800} | facts  # fmt: skip
    return OrderView(**values)


def test_the_goods_come_back_exact_to_the_fen_and_the_postage_stays() -> None:
    decision = returned_parcel_refund(order(), Holdings())
    assert decision is not None
    assert decision.amount == PAID - 800 == 14_000
    assert [(x.line_id, x.quantity) for x in decision.lines] == [("l1", 3), ("l2", 1)]
    assert decision.flow is RefundFlow.NO_RETURN and decision.approve_as == "system"
    assert decision.reason == "refused_at_delivery"


def test_what_was_refunded_or_is_asked_for_already_is_left_out() -> None:
    one_tea_back = Holdings(committed=3_333 - 222, used_quantity={"l1": 1})
    decision = returned_parcel_refund(order(), one_tea_back)
    assert decision is not None and decision.amount == 2 * 3_333 - (667 - 222) + 5_001 - 333
    assert [(x.line_id, x.quantity) for x in decision.lines] == [("l1", 2), ("l2", 1)]
    cup_open = Holdings(committed=4_668, open_lines=frozenset({"l2"}))
    decision = returned_parcel_refund(order(), cup_open)
    assert decision is not None and [x.line_id for x in decision.lines] == ["l1"]
    assert decision.amount == 3 * 3_333 - 667


def test_never_more_than_is_left_of_the_payment() -> None:
    decision = returned_parcel_refund(order(), Holdings(committed=PAID - 100))
    assert decision is not None and decision.amount == 100
    assert returned_parcel_refund(order(), Holdings(committed=PAID)) is None


def test_nothing_for_cash_on_delivery_an_ended_or_a_delivered_order() -> None:
    assert returned_parcel_refund(order(paid=0), Holdings()) is None
    assert returned_parcel_refund(order(paid=0, ended="refused"), Holdings()) is None
    assert returned_parcel_refund(order(ended="cancelled"), Holdings()) is None
    delivered = order(delivered_at=datetime(2026, 12, 1, tzinfo=UTC))
    assert returned_parcel_refund(delivered, Holdings()) is None
