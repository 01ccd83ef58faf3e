"""The refund of a courier surcharge not honoured: the fee, never more than is left."""

from __future__ import annotations

from services.returns.domain.eligibility import courier_fee_refund
from services.returns.domain.records import Holdings, Line, OrderView
from shared.contracts.envelope import Money
from shared.contracts.events.returns import RefundFlow

LINES = {"l1": Line("l1", "TEA", 1, 10_000)}
FEE = Money(amount=1_500, currency="CNY")


def order(paid: int) -> OrderView:
    return OrderView(order_id="ord_1", currency="CNY", lines=LINES, paid=paid, shipping_fee=1_500)


def test_the_fee_is_refunded_without_a_return_and_approved_by_the_system() -> None:
    decision = courier_fee_refund(order(11_500), Holdings(), FEE)
    assert decision is not None
    assert (decision.amount, decision.currency, decision.lines) == (1_500, "CNY", ())
    assert decision.flow is RefundFlow.NO_RETURN and decision.approve_as == "system"


def test_never_more_than_is_left_of_the_payment() -> None:
    decision = courier_fee_refund(order(11_500), Holdings(committed=10_500), FEE)
    assert decision is not None and decision.amount == 1_000
    assert courier_fee_refund(order(11_500), Holdings(committed=11_500), FEE) is None
    assert courier_fee_refund(order(11_500), Holdings(), Money(amount=1, currency="USD")) is None
