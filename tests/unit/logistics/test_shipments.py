"""The shipping decisions: what each one changes, schedules and tells, saved at once."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from services.logistics.domain import shipments
from services.logistics.domain.shipping import (
    SHIP,
    SHIP_BY,
    SILENCE,
    Checkpoint,
    CheckpointStatus,
    ParcelStatus,
    ShippingCalendar,
    Timing,
)
from services.logistics.domain.stock import Fulfilment, ships_from
from tests.unit.logistics.support import open_whole

CALENDAR = ShippingCalendar(ZoneInfo("Asia/Shanghai"), time(14, 0), frozenset({1, 2, 3, 4, 5}))
NOW = datetime(2026, 11, 11, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in Shanghai
PRICE = {"amount": 9_900, "currency": "CNY"}
LINE = {"line_id": "l1", "sku": "TEE", "name": "Tee", "quantity": 2, "unit_price": PRICE}


def timing(delay: float = 0.0) -> Timing:
    return Timing(CALENDAR, delay, 0.0, 3600.0, 2)


def order(state: str = "reserved", method: str = "card") -> Fulfilment:
    address = {"recipient": "Li", "line1": "1 Road", "city": "Hangzhou", "country": "CN"}
    total = {"amount": 19_800, "currency": "CNY"}
    return Fulfilment("ord_1", state, method, [LINE], address, total, None, NOW, None, None)


def test_an_order_ships_from_its_payment_or_at_once_for_cash_on_delivery() -> None:
    assert ships_from(order(), has_shipment=False, paid_at=None, now=NOW) is None
    assert ships_from(order(), has_shipment=False, paid_at=NOW, now=NOW) == NOW
    cod = order(method="cash_on_delivery")
    assert ships_from(cod, has_shipment=False, paid_at=None, now=NOW) == NOW
    assert ships_from(order("placed"), has_shipment=False, paid_at=NOW, now=NOW) is None
    assert ships_from(order(), has_shipment=True, paid_at=NOW, now=NOW) is None


def test_opening_at_once_books_the_parcel_and_a_delay_watches_the_promise() -> None:
    at_once = open_whole(order(), "shp_1", "sf", NOW, NOW, timing())
    assert at_once.promise == date(2026, 11, 11)
    assert at_once.booking is not None and at_once.booking[0] == "shp_1"
    assert at_once.booking[1]["parcel"]["items"] == 2
    assert at_once.timers == {}, "no timer is set, so none is cancelled"
    assert [e.TYPE for e in at_once.events] == ["ShippingPromiseSet"]

    later = open_whole(order(), "shp_1", "sf", NOW, NOW, timing(delay=60))
    assert later.booking is None
    assert later.timers == {
        (SHIP, "ord_1"): NOW + timedelta(seconds=60),
        (SHIP_BY, "ord_1:2026-11-11"): CALENDAR.ship_by(date(2026, 11, 11)),
    }


def test_shipping_and_stopping_cancel_the_pending_timers() -> None:
    pending = open_whole(order(), "shp_1", "sf", NOW, NOW, timing(60)).shipment
    assert pending is not None
    left = shipments.shipped(order(), pending, "SF1", NOW, timing(60))
    assert left.shipment is not None and left.shipment.status is ParcelStatus.SHIPPED
    assert left.timers[(SHIP, "ord_1")] is None
    assert left.timers[(SHIP_BY, "ord_1:2026-11-11")] is None
    assert left.timers[(SILENCE, "shp_1")] == NOW + timedelta(hours=1)
    stopped = shipments.stopped([pending], "order_cancelled:customer_request", timing(60))[0]
    assert stopped.shipment is not None and stopped.shipment.status is ParcelStatus.CANCELLED
    assert set(stopped.timers.values()) == {None}
    assert [e.TYPE for e in stopped.events] == ["ShipmentCancelled"]


def test_a_parcel_leaving_at_once_cancels_no_timer_it_never_had() -> None:
    pending = open_whole(order(), "shp_1", "sf", NOW, NOW, timing()).shipment
    assert pending is not None
    left = shipments.shipped(order(), pending, "SF1", NOW, timing())
    assert left.timers == {(SILENCE, "shp_1"): NOW + timedelta(hours=1)}
    assert (
        shipments.stopped([pending], "order_cancelled:customer_request", timing())[0].timers == {}
    )


def test_a_delivery_stops_the_silence_watch_and_a_late_parcel_gets_a_new_date() -> None:
    pending = open_whole(order(), "shp_1", "sf", NOW, NOW, timing(60)).shipment
    assert pending is not None
    late = shipments.late_to_ship(pending, timing(), NOW + timedelta(days=1))
    assert late.promise == date(2026, 11, 13)
    assert [e.TYPE for e in late.events] == ["ShipmentDelayed"]
    assert shipments.silent(pending, timing(), NOW).events == [], "not on its way yet"
    on_its_way = shipments.shipped(order(), pending, "SF1", NOW, timing()).shipment
    assert on_its_way is not None
    cp = Checkpoint("c1", NOW, "Hangzhou", CheckpointStatus.DELIVERED, "delivered")
    delivered = shipments.tracked(on_its_way, cp, timing(), NOW)
    assert delivered.shipment is not None and delivered.shipment.delivered_at == NOW
    assert delivered.timers == {(SILENCE, "shp_1"): None}
    assert [e.TYPE for e in delivered.events] == ["ShipmentDelivered"]


def test_a_cash_delivery_tells_what_the_courier_reports_it_collected() -> None:
    cod = order(method="cash_on_delivery")
    pending = open_whole(cod, "shp_1", "sf", NOW, NOW, timing()).shipment
    assert pending is not None and pending.cash_on_delivery is not None
    on_its_way = shipments.shipped(cod, pending, "SF1", NOW, timing()).shipment
    assert on_its_way is not None
    short = {"amount": 18_000, "currency": "CNY"}
    reported = Checkpoint("c1", NOW, "Hangzhou", CheckpointStatus.DELIVERED, "", short)
    said = shipments.tracked(on_its_way, reported, timing(), NOW).events
    assert [e.model_dump(mode="json")["cash_collected"] for e in said] == [short]
    silent = Checkpoint("c2", NOW, "Hangzhou", CheckpointStatus.DELIVERED, "")
    said = shipments.tracked(on_its_way, silent, timing(), NOW).events
    due = pending.cash_on_delivery
    assert [e.model_dump(mode="json")["cash_collected"] for e in said] == [due]
    pending = open_whole(order(), "shp_2", "sf", NOW, NOW, timing()).shipment
    assert pending is not None
    paid = shipments.shipped(order(), pending, "SF2", NOW, timing()).shipment
    assert paid is not None
    said = shipments.tracked(paid, reported, timing(), NOW).events
    assert all(e.model_dump().get("cash_collected") is None for e in said), "paid upfront"
