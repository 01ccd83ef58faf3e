"""A parcel refused at the door (or undeliverable): a cash-on-delivery order ends `refused`
once and owes nothing; a prepaid order only records it; a delivered order stays delivered."""

from __future__ import annotations

from datetime import timedelta

from services.order.domain import reactions
from services.order.domain.order import AUTO_CONFIRM, PAYMENT_WINDOW, Entry, Order, Stage
from services.order.domain.stuck import Thresholds, stuck_in
from services.order.presenter import order_view
from services.order.timeline import describe
from shared.contracts.events.common import PaymentMethod
from shared.contracts.events.order import OrderRefused
from tests.unit.order.test_domain import NOW, order, pay, ship

LATER = NOW + timedelta(days=2)


def refusal(reason: reactions.Refusal = "refused") -> Entry:
    details = {"shipment_id": "s1", "reason": reason, "city": "Shanghai", "description": ""}
    return Entry("parcel_refused:s1", LATER, "parcel_refused", details)


def refuse(o: Order, reason: reactions.Refusal = "refused") -> reactions.Outcome:
    return reactions.refused(o, reason, refusal(reason), timedelta(days=7))


def test_a_shipped_cash_on_delivery_order_ends_refused_once_and_owes_nothing() -> None:
    o = order(PaymentMethod.CASH_ON_DELIVERY)
    ship(o)
    first = refuse(o)
    assert first.events == [OrderRefused(reason="refused", was_paid=False)]
    assert first.timers == {PAYMENT_WINDOW: None, AUTO_CONFIRM: None}
    assert [(e.key, e.kind) for e in first.entries] == [("refused", "refused")]
    assert o.stage is Stage.REFUSED and o.status == "refused"
    assert o.payment_state == "not_charged" and o.ended_reason == "refused"
    again = refuse(o)
    assert again.events == [] and again.entries == [], "a repeat adds nothing"
    assert o.status == "refused"


def test_an_undeliverable_parcel_ends_the_order_with_that_reason() -> None:
    o = order(PaymentMethod.CASH_ON_DELIVERY)
    ship(o)
    [event] = refuse(o, "undeliverable").events
    assert event == OrderRefused(reason="undeliverable", was_paid=False)
    assert o.ended_reason == "undeliverable"


def test_a_prepaid_order_only_records_the_refusal_and_is_not_stuck_in_transit() -> None:
    o = order()
    pay(o)
    ship(o)
    outcome = refuse(o)
    assert outcome.events == [] and outcome.timers == {}
    assert [e.key for e in outcome.entries] == ["parcel_refused:s1"]
    assert o.status == "shipped" and o.payment_state == "paid"
    limits = Thresholds(silent_in_transit=3_600)
    assert stuck_in(o, LATER + timedelta(days=30), limits) == [], "no longer in transit"


def test_a_delivered_or_ended_order_ignores_a_late_refusal() -> None:
    delivered = order(PaymentMethod.CASH_ON_DELIVERY)
    ship(delivered, Stage.DELIVERED)
    assert refuse(delivered) == reactions.Outcome()
    assert delivered.stage is Stage.DELIVERED
    cancelled = order(PaymentMethod.CASH_ON_DELIVERY)
    reactions.stock_shortage(cancelled, [], NOW)
    assert refuse(cancelled) == reactions.Outcome() and cancelled.status == "cancelled"


def test_a_refused_order_shows_nothing_due_and_says_why_in_each_language() -> None:
    o = order(PaymentMethod.CASH_ON_DELIVERY)
    ship(o)
    [entry] = refuse(o).entries
    view = order_view(o, [entry], "en")
    assert view.status == "refused" and view.totals.due.amount == 0
    assert view.payment.status == "not_charged"
    assert view.payment.instructions.startswith("Nothing to pay")
    assert "Nothing is charged" in view.timeline[0].text
    assert "拒收" in describe("refused", entry.details, "zh-CN")
    assert "拒收" in describe("refused", entry.details, "zh-TW")
    undeliverable = describe("refused", {"reason": "undeliverable"}, "en")
    assert "after several attempts" in undeliverable
    assert describe("returned_to_shop", {}, "zh-TW") == "包裹已回到賣家處。"
