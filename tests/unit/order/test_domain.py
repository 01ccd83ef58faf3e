"""The order state machine: forward only, once per fact, ended orders stay ended."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.order.domain import order as domain
from services.order.domain import reactions
from services.order.domain.order import AUTO_CONFIRM, PAYMENT_WINDOW, NotAllowed, Order, Stage
from services.order.domain.placing import Item, new_order, placed
from shared.contracts.envelope import Money
from shared.contracts.events.common import Address, Contact, Locale, PaymentMethod

NOW = datetime(2026, 11, 11, 6, 0, tzinfo=UTC)
WINDOW = timedelta(hours=72)
URL = "https://shop.example/v1/orders/ord_1?access_token=t"


def order(method: PaymentMethod = PaymentMethod.WALLET) -> Order:
    return new_order(
        order_id="ord_1",
        customer_id=None,
        items=[Item("TEE", "Tee", "red", 2, 5_000)],
        currency="CNY",
        contact=Contact(email="li.wei@example.com"),
        address=Address(recipient="Li", line1="1 Rd", city="Shanghai", country="CN"),
        locale=Locale.ZH_TW,
        time_zone=None,
        method=method,
        gift_message=None,
        now=NOW,
        payment_window=WINDOW,
    )


def cny(amount: int) -> Money:
    return Money(amount=amount, currency="CNY")


def pay(o: Order, attempt: str = "a1", amount: int = 10_000) -> domain.Outcome:
    return reactions.paid(o, cny(amount), PaymentMethod.WALLET, NOW, f"paid:{attempt}")


def ship(o: Order, to: Stage = Stage.SHIPPED) -> domain.Outcome:
    entry = domain.Entry(f"{to}:s1", NOW, to.value)
    return reactions.shipment_moved(o, to, {"shipment_id": "s1"}, entry)


def test_placing_sets_the_payment_window_except_for_cash_on_delivery() -> None:
    new = order()
    assert new.time_zone == "Asia/Taipei" and new.total == 10_000
    assert placed(new, URL).timers == {PAYMENT_WINDOW: NOW + WINDOW}
    [event] = placed(new, URL).events
    assert event.TYPE == "OrderPlaced" and event.order_url == URL and event.total == cny(10_000)
    cod = order(PaymentMethod.CASH_ON_DELIVERY)
    assert cod.payment_due_at is None and placed(cod, URL).timers == {}


def test_a_payment_is_applied_once_and_publishes_order_paid_once() -> None:
    o = order()
    first = pay(o)
    assert o.status == "paid" and o.paid_amount == 10_000
    assert [e.TYPE for e in first.events] == ["OrderPaid"]
    assert first.timers == {PAYMENT_WINDOW: None}
    assert pay(o).events == [] and o.paid_amount == 10_000
    second_attempt = pay(o, "a2")
    assert second_attempt.events == [] and o.paid_amount == 20_000


def test_stages_never_move_backwards() -> None:
    o = order()
    pay(o)
    ship(o, Stage.DELIVERED)
    ship(o, Stage.SHIPPED)
    pay(o, "late")
    assert o.stage is Stage.DELIVERED


def test_cancel_unpaid_ends_the_order_and_paid_requests_a_refund() -> None:
    unpaid = order()
    outcome = domain.cancel(unpaid, "changed mind", NOW)
    assert unpaid.status == "cancelled"
    assert outcome.events[0].model_dump() == {"reason": "customer_request", "was_paid": False}
    assert outcome.timers[PAYMENT_WINDOW] is None
    paid = order()
    pay(paid)
    requested = domain.cancel(paid, "changed mind", NOW)
    assert paid.status == "cancellation_requested" and paid.stage is Stage.PAID
    assert requested.events[0].TYPE == "OrderCancellationRequested"
    with pytest.raises(NotAllowed) as again:
        domain.cancel(paid, "again", NOW)
    assert again.value.status == "cancellation_requested"


def test_a_shipped_order_cannot_be_cancelled_and_an_unshipped_one_not_confirmed() -> None:
    o = order()
    with pytest.raises(NotAllowed):
        domain.confirm_receipt(o, NOW, None)
    pay(o)
    ship(o)
    with pytest.raises(NotAllowed) as refused:
        domain.cancel(o, "too late", NOW)
    assert refused.value.status == "shipped"
    assert domain.confirm_receipt(o, NOW, "https://r").events[0].model_dump() == {
        "confirmed_by": "customer",
        "review_url": "https://r",
    }
    o.stage = Stage.COMPLETED
    again = domain.confirm_receipt(o, NOW, "https://r")
    assert (again.events, again.entries) == ([], []), "a second confirmation tells nothing"


def test_a_late_payment_leaves_a_closed_order_closed() -> None:
    o = order()
    closed = domain.payment_window_expired(o, NOW + WINDOW)
    assert [e.TYPE for e in closed.events] == ["OrderClosed"] and o.status == "closed"
    late = pay(o)
    assert late.events == [] and o.status == "closed" and o.paid_amount == 10_000
    assert late.entries[0].kind == "late_payment"
    reactions.refund_paid(o, "rf1", None, cny(10_000), "late_payment", NOW)
    assert o.status == "closed" and o.payment_state == "refunded"


def test_the_payment_window_leaves_paid_and_cash_on_delivery_orders_alone() -> None:
    paid, cod = order(), order(PaymentMethod.CASH_ON_DELIVERY)
    pay(paid)
    assert domain.payment_window_expired(paid, NOW).events == []
    assert domain.payment_window_expired(cod, NOW).events == []
    assert paid.status == "paid" and cod.status == "placed"


def test_cash_on_delivery_is_paid_on_delivery_without_moving_back() -> None:
    o = order(PaymentMethod.CASH_ON_DELIVERY)
    ship(o, Stage.DELIVERED)
    outcome = reactions.paid(o, cny(10_000), PaymentMethod.CASH_ON_DELIVERY, NOW, "paid:cod")
    assert o.stage is Stage.DELIVERED and o.payment_state == "paid"
    assert [e.TYPE for e in outcome.events] == ["OrderPaid"]


def test_refunds_only_move_forward_and_are_counted_once() -> None:
    o = order()
    pay(o)
    reactions.refund_paid(o, "rf1", "rr1", cny(4_000), "damaged", NOW)
    reactions.refund_paid(o, "rf1", "rr1", cny(4_000), "damaged", NOW)
    reactions.refund_step(o, "rr1", "approved", NOW, "refund_approved", {"amount": 4_000})
    assert o.refunds["rr1"]["status"] == "paid" and o.refunded_amount == 4_000
    assert o.status == "partially_refunded" and not o.refund_open
    reactions.refund_paid(o, "rf2", "rr2", cny(6_000), "damaged", NOW)
    assert o.status == "refunded"


def test_stock_shortage_cancels_unshipped_orders_only() -> None:
    paid, shipped = order(), order()
    pay(paid)
    pay(shipped)
    ship(shipped)
    outcome = reactions.stock_shortage(paid, [], NOW)
    assert outcome.events[0].model_dump() == {"reason": "stock_shortage", "was_paid": True}
    assert reactions.stock_shortage(shipped, [], NOW).events == []
    assert reactions.stock_shortage(paid, [], NOW).events == []
    assert shipped.status == "shipped"


def test_a_payment_that_cannot_be_retried_cancels_the_unpaid_order() -> None:
    o = order()
    retry = reactions.payment_failed(o, "declined", True, NOW, "f:a1")
    assert retry.events == [] and o.payment_state == "failed" and o.status == "placed"
    final = reactions.payment_failed(o, "blocked", False, NOW, "f:a2")
    assert final.events[0].model_dump() == {"reason": "payment_failed", "was_paid": False}


def test_auto_confirm_waits_while_a_refund_is_open() -> None:
    o = order()
    pay(o)
    ship(o, Stage.DELIVERED)
    reactions.refund_step(o, "rr1", "requested", NOW, "refund_requested", {"amount": 100})
    later = NOW + timedelta(days=10)
    held = domain.auto_confirm_due(o, NOW, later, None)
    assert held.events == [] and held.timers == {AUTO_CONFIRM: later}
    reactions.refund_step(o, "rr1", "rejected", NOW, "refund_rejected", {"reason": "no"})
    done = domain.auto_confirm_due(o, NOW, later, None)
    assert done.events[0].model_dump() == {"confirmed_by": "auto", "review_url": None}
    assert o.status == "completed"
    assert domain.auto_confirm_due(o, NOW, later, None).events == []


def test_a_second_payment_returned_by_the_payment_service_leaves_the_order_paid() -> None:
    o = order()
    pay(o, "a1")
    pay(o, "a2")  # the customer paid again through another attempt
    reactions.refund_paid(o, "rf1", None, cny(10_000), "duplicate_payment", NOW)
    assert o.status == "paid" and o.payment_state == "paid"
    assert (o.paid_amount, o.refunded_amount) == (10_000, 0)


def test_an_overpayment_refunded_leaves_the_order_paid_what_it_owed() -> None:
    o = order()
    pay(o, "a1", amount=12_000)  # the provider captured 120.00 of a 100.00 order
    reactions.refund_paid(o, "rf1", None, cny(2_000), "overpaid", NOW)
    assert o.status == "paid" and (o.paid_amount, o.refunded_amount) == (10_000, 0)


def test_an_underpaid_capture_refunded_is_neither_paid_nor_refunded() -> None:
    o = order()  # the 1-fen capture never paid the order; its refund is not the order's
    reactions.refund_paid(o, "rf1", None, cny(1), "underpaid", NOW)
    assert (o.paid_amount, o.refunded_amount) == (0, 0) and o.status == "placed"


@pytest.mark.parametrize(
    "reason",
    ["late_exchange_payment", "exchange_underpaid", "exchange_wrong_currency", "exchange_overpaid"],
)
def test_a_refund_of_an_exchange_capture_leaves_the_order_money_as_it_was(reason: str) -> None:
    o = order()  # the exchange's difference was never the order's payment: nor is its refund
    pay(o, "a1")
    reactions.refund_paid(o, "rf1", None, cny(2_000), reason, NOW)
    assert (o.paid_amount, o.refunded_amount, o.status) == (10_000, 0, "paid")


def test_a_delivered_order_is_confirmed_later_unless_it_moved_on() -> None:
    o = order()
    pay(o)
    entry = domain.Entry("delivered:s1", NOW, "delivered")
    days = timedelta(days=10)
    arrived = reactions.delivered(o, {"shipment_id": "s1"}, entry, days)
    assert o.status == "delivered" and arrived.timers == {AUTO_CONFIRM: NOW + days}
    domain.confirm_receipt(o, NOW, None)
    assert reactions.delivered(o, {"shipment_id": "s1"}, entry, days).timers == {}


def test_a_refund_request_whose_flow_changed_shows_as_converted() -> None:
    o = order()
    pay(o)
    details = {"amount": 4_000, "currency": "CNY", "flow": "before_shipping"}
    first = reactions.refund_requested(o, "rr1", "before_shipping", NOW, details)
    assert [e.key for e in first.entries] == ["refund_requested:rr1"]
    returned = {**details, "flow": "with_return"}
    converted = reactions.refund_requested(o, "rr1", "with_return", NOW, returned)
    assert [e.key for e in converted.entries] == ["refund_converted:rr1"]
    assert o.refunds["rr1"]["flow"] == "with_return"
