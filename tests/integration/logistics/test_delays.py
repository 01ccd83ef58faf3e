"""Delays told before the customer notices: an order not shipped by its promise, a parcel
silent too long. Both timers are durable: they fire after a restart."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tests.integration.logistics.support import (
    Logistics,
    of,
    placed,
)
from tests.support.events import new_id, paid, payload
from tests.support.kafka import TopicTail
from tests.support.polling import eventually


async def test_an_order_not_shipped_by_its_promise_is_told_the_new_date_even_after_a_restart(
    lg: Logistics, tail: TopicTail
) -> None:
    order_id = new_id("ord")
    slow_warehouse = {"ship_delay_seconds": 120, "ship_by_seconds": 3}
    async with lg.running(**slow_warehouse) as first:
        sku = await lg.stocked(on_hand=3)
        reserved = await lg.reserve(order_id, sku, 1)
        await lg.send(paid(9_900), order_id)

        async def pending() -> bool:
            async with first.db.acquire() as conn:
                status = await conn.fetchval(
                    "SELECT status FROM shipments WHERE order_id = $1", order_id
                )
            return status == "pending"

        await eventually(pending, what="a shipment waiting for the warehouse")
    assert not [r for r in tail.records if of(order_id, "ShipmentDelayed")(r)]
    async with lg.running(**slow_warehouse):
        first_delay, second_delay = await tail.wait_for(
            of(order_id, "ShipmentDelayed"), count=2, timeout=30
        )
    one, two = payload(first_delay), payload(second_delay)
    assert one["reason"] == "not_shipped_by_promise" and one["shipment_id"]
    promised = date.fromisoformat(payload(reserved)["promised_ship_date"])
    assert date.fromisoformat(one["previous_date"]) >= promised
    assert one["new_expected_date"] > one["previous_date"]
    assert two["previous_date"] == one["new_expected_date"], "the next period watches the new date"
    assert not [r for r in tail.records if of(order_id, "ShipmentShipped")(r)]


async def test_a_parcel_silent_too_long_is_told_once_per_silence_and_never_after_delivery(
    lg: Logistics, tail: TopicTail
) -> None:
    order_id = new_id("ord")
    quiet = {"checkpoint_silence_seconds": 3}
    async with lg.running(**quiet):
        sku = await lg.stocked(on_hand=3)
        await lg.send(placed([(sku, 1)]), order_id)
        await lg.send(paid(9_900), order_id)
        [shipped] = await tail.wait_for(of(order_id, "ShipmentShipped"))
    courier, tracking = payload(shipped)["courier"], payload(shipped)["tracking_number"]
    async with lg.running(**quiet) as second:
        [silent] = await tail.wait_for(of(order_id, "ShipmentDelayed"), timeout=30)
        now = datetime.now(UTC)
        moving = await lg.post_checkpoint(courier, tracking, "cp-1", now, "in_transit")
        assert moving.status_code == 200
        await tail.wait_for(of(order_id, "ShipmentDelayed"), count=2, timeout=30)
        again = await lg.post_checkpoint(courier, tracking, "cp-2", now, "in_transit")
        assert again.status_code == 200
        done = await lg.post_checkpoint(courier, tracking, "cp-3", now, "delivered")
        assert done.status_code == 200
        await tail.wait_for(of(order_id, "ShipmentDelivered"))
        async with second.db.acquire() as conn:
            timer = await conn.fetchval(
                "SELECT state FROM timers WHERE kind = 'checkpoint_silence' AND key = $1",
                payload(shipped)["shipment_id"],
            )
    body = payload(silent)
    assert body["reason"] == "no_checkpoint"
    assert body["shipment_id"] == payload(shipped)["shipment_id"]
    assert body["previous_date"] == payload(shipped)["expected_delivery_date"]
    assert body["new_expected_date"] > body["previous_date"]
    assert timer == "cancelled", "a delivered parcel is never reported delayed"
    delays = [r for r in tail.records if of(order_id, "ShipmentDelayed")(r)]
    assert len(delays) == 2, "one per silent period: before and after the checkpoint"


async def test_the_promise_kept_is_the_one_judged_at_payment_and_it_is_published(
    lg: Logistics, tail: TopicTail
) -> None:
    """Paid on a Monday at 15:00 (after the 14:00 cut-off): ships Tuesday, whatever the
    date given at placement; that date is told (ShippingPromiseSet) and watched."""
    order_id = new_id("ord")
    shop = ZoneInfo("Asia/Shanghai")
    today = datetime.now(shop).date()
    monday = today + timedelta(days=7 - today.weekday())
    paid_at = datetime.combine(monday, time(15, 0), tzinfo=shop)
    async with lg.running(ship_delay_seconds=3600) as runtime:
        sku = await lg.stocked(on_hand=3)
        reserved = await lg.reserve(order_id, sku, 1)
        late = paid(9_900)
        await lg.send(late.model_copy(update={"paid_at": paid_at}), order_id)
        [promise] = await tail.wait_for(of(order_id, "ShippingPromiseSet"))
        async with runtime.db.acquire() as conn:
            kept = await conn.fetchval(
                "SELECT promised_ship_date FROM fulfilments WHERE order_id = $1", order_id
            )
            watched = await conn.fetchval(
                "SELECT key FROM timers WHERE kind = 'ship_by' AND state = 'pending'"
                " AND key LIKE $1",
                f"{order_id}:%",
            )
    tuesday = monday + timedelta(days=1)
    assert payload(reserved)["promised_ship_date"] != tuesday.isoformat()
    assert payload(promise)["promised_ship_date"] == tuesday.isoformat()
    assert kept == tuesday and watched == f"{order_id}:{tuesday}"
