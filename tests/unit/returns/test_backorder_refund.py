"""The refund of the units a backorder dropped: their price less their share of the
discount, exact to the fen, never more than is left of the payment, none once ended."""

from __future__ import annotations

from services.returns.domain.eligibility import backorder_refund
from services.returns.domain.records import Holdings, Line, OrderView
from shared.contracts.events.common import LineQuantity
from shared.contracts.events.returns import RefundFlow

# three mugs at 45.00 with 10.00 of discount on the line, one tea at 88.00
LINES = {
    "l1": Line("l1", "MUG", 3, 4_500, discount=1_000),
    "l2": Line("l2", "TEA", 1, 8_800),
}
PAID = 3 * 4_500 - 1_000 + 8_800


def order(paid: int = PAID, ended: str | None = None) -> OrderView:
    return OrderView(order_id="ord_1", currency="CNY", lines=LINES, paid=paid, ended=ended)


def dropped(quantity: int) -> tuple[LineQuantity, ...]:
    return (LineQuantity(line_id="l1", sku="MUG", quantity=quantity),)


def test_the_dropped_units_are_refunded_less_their_share_of_the_discount() -> None:
    decision = backorder_refund(order(), Holdings(), dropped(2))
    assert decision is not None
    # the line's 10.00 discount over three units: the last two carry 6.67 of it
    assert decision.amount == 2 * 4_500 - (1_000 - 1_000 * 1 // 3)
    assert [(x.line_id, x.quantity) for x in decision.lines] == [("l1", 2)]
    assert (decision.flow, decision.reason, decision.approve_as) == (
        RefundFlow.NO_RETURN, "stock_shortage", "system",
    )  # fmt: skip
    assert decision.return_shipping_paid_by is None


def test_the_parts_add_up_to_the_line_exactly() -> None:
    two = backorder_refund(order(), Holdings(), dropped(2))
    one_kept = LINES["l1"].paid_for(1)
    assert two is not None and two.amount + one_kept == 3 * 4_500 - 1_000


def test_never_more_than_is_left_of_the_payment_nor_units_already_refunded() -> None:
    held = Holdings(committed=PAID - 500)
    decision = backorder_refund(order(), held, dropped(2))
    assert decision is not None and decision.amount == 500
    used = Holdings(used_quantity={"l1": 2})
    decision = backorder_refund(order(), used, dropped(2))
    assert decision is not None and [x.quantity for x in decision.lines] == [1]
    assert backorder_refund(order(), Holdings(committed=PAID), dropped(1)) is None


def test_nothing_for_an_unpaid_or_ended_order_or_an_unknown_line() -> None:
    assert backorder_refund(order(paid=0), Holdings(), dropped(1)) is None
    assert backorder_refund(order(ended="cancelled"), Holdings(), dropped(1)) is None
    other = (LineQuantity(line_id="l9", sku="X", quantity=1),)
    assert backorder_refund(order(), Holdings(), other) is None
