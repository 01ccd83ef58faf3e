"""When an order is stuck: each stage's clock, its threshold, and leaving the stage."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from services.order.domain import reactions
from services.order.domain.order import Entry, Order, Stage
from services.order.domain.stuck import (
    Thresholds,
    allowed_seconds,
    anchors,
    promise_deadline,
    stuck_in,
)
from shared.contracts.events.common import PaymentMethod
from tests.unit.order.test_domain import NOW, order, pay

LIMITS = Thresholds(
    awaiting_payment_request=300,
    not_shipped=3_600,
    silent_in_transit=172_800,
    refund_unanswered=172_800,
)
MINUTE = timedelta(minutes=1)


def stages(o: Order, at: datetime) -> list[str]:
    return [s.stage for s in stuck_in(o, at, LIMITS)]


def requested(o: Order) -> None:
    instructions = {"attempt_id": "a1", "checkout_url": None, "pay_link": None}
    reactions.payment_requested(o, instructions, NOW + MINUTE)


def checkpoint(o: Order, at: datetime, key: str = "c1") -> None:
    reactions.shipment_moved(o, Stage.SHIPPED, {"shipment_id": "s1"}, Entry(key, at, "checkpoint"))


def test_a_placed_order_never_asked_for_payment_is_stuck_after_its_threshold() -> None:
    o = order()
    assert stages(o, NOW + 4 * MINUTE) == []
    [found] = stuck_in(o, NOW + 5 * MINUTE, LIMITS)
    assert found.stage == "awaiting_payment_request" and found.since == NOW
    assert found.due_at == NOW + 5 * MINUTE
    requested(o)
    assert stages(o, NOW + 10 * MINUTE) == [], "asking for the payment ends the stay"


def test_a_cash_on_delivery_order_asked_to_pay_at_the_door_waits_for_shipping() -> None:
    cod = order(PaymentMethod.CASH_ON_DELIVERY)
    requested(cod)
    reactions.stock_reserved(cod, date(2026, 11, 12), NOW)
    deadline = promise_deadline(date(2026, 11, 12), cod.time_zone)
    assert deadline == datetime(2026, 11, 12, 16, 0, tzinfo=UTC)  # midnight in Taipei
    assert stages(cod, deadline + timedelta(minutes=59)) == []
    [found] = stuck_in(cod, deadline + timedelta(hours=1), LIMITS)
    assert found.stage == "not_shipped" and found.since == cod.placed_at


def test_a_paid_order_past_its_promise_and_grace_is_not_shipped_until_it_ships() -> None:
    o = order()
    requested(o)
    reactions.stock_reserved(o, date(2026, 11, 12), NOW)
    assert anchors(o).not_shipped is None, "an unpaid order is not expected to ship"
    pay(o)
    late = datetime(2026, 11, 12, 17, 0, tzinfo=UTC)
    [found] = stuck_in(o, late, LIMITS)
    assert found.stage == "not_shipped" and found.since == o.paid_at
    assert allowed_seconds(found.since, found.due_at) == (late - NOW).total_seconds()
    reactions.delayed(o, "not_shipped_by_promise", date(2026, 11, 14), late)
    assert stages(o, late) == [], "a new promise restarts the clock"
    checkpoint(o, late)
    assert o.stage is Stage.SHIPPED and "not_shipped" not in stages(o, late + timedelta(days=9))


def test_a_shipped_order_is_silent_when_the_carrier_says_nothing_for_its_threshold() -> None:
    o = order()
    pay(o)
    checkpoint(o, NOW, "shipped")
    assert stages(o, NOW + timedelta(hours=47)) == []
    assert stages(o, NOW + timedelta(hours=48)) == ["silent_in_transit"]
    checkpoint(o, NOW + timedelta(hours=40), "c2")
    assert stages(o, NOW + timedelta(hours=48)) == [], "a checkpoint restarts the silence"
    checkpoint(o, NOW + timedelta(hours=1), "late")  # an older step arriving late
    [found] = stuck_in(o, NOW + timedelta(hours=88), LIMITS)
    assert found.since == NOW + timedelta(hours=40)
    delivered = Entry("d", NOW, "delivered")
    reactions.shipment_moved(o, Stage.DELIVERED, {"shipment_id": "s1"}, delivered)
    assert stages(o, NOW + timedelta(days=30)) == []


def test_a_refund_request_is_unanswered_until_approved_or_rejected() -> None:
    o = order()
    pay(o)
    details = {"amount": 10_000, "currency": "CNY", "flow": "before_shipping"}
    reactions.refund_requested(o, "rr1", "before_shipping", NOW, details)
    later = NOW + timedelta(hours=1)
    reactions.refund_requested(o, "rr2", "before_shipping", later, details)
    [found] = stuck_in(o, NOW + timedelta(hours=48), LIMITS)
    assert found.stage == "refund_unanswered" and found.since == NOW, "the oldest request"
    reactions.refund_step(o, "rr1", "rejected", later, "refund_rejected", {})
    assert anchors(o).refund_unanswered == later
    reactions.refund_step(o, "rr2", "approved", later, "refund_approved", {})
    assert anchors(o).refund_unanswered is None
