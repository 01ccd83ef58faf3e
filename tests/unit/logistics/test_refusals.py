"""A parcel that will not be delivered: refused at the door, sent back, or given up after
its failed attempts goes back to the shop, told once; back at the shop its goods go back
on the shelf, once; a delivered parcel stays delivered."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.logistics.domain import shipments
from services.logistics.domain.shipping import (
    SILENCE,
    Checkpoint,
    CheckpointStatus,
    Outcome,
    ParcelStatus,
    Shipment,
    ShippingCalendar,
    Timing,
    track,
)

S = CheckpointStatus
CALENDAR = ShippingCalendar(ZoneInfo("Asia/Shanghai"), time(14, 0), frozenset({1, 2, 3, 4, 5}))
NOW = datetime(2026, 11, 11, 2, 0, tzinfo=UTC)
LINES = [
    {"line_id": "l1", "sku": "TEE", "name": "Tee", "quantity": 2},
    {"line_id": "l2", "sku": "CAP", "name": "Cap", "quantity": 1},
]
COD = {"amount": 19_800, "currency": "CNY"}


def timing(attempts: int = 3) -> Timing:
    return Timing(CALENDAR, 0.0, 0.0, 3600.0, 2, max_delivery_attempts=attempts)


def parcel(status: ParcelStatus = ParcelStatus.OUT_FOR_DELIVERY) -> Shipment:
    day = NOW.date()
    return Shipment("shp_1", "ord_1", status, "sf", "SF1", COD, day, day, NOW, NOW, None, NOW, None)


def cp(status: CheckpointStatus, n: int = 1) -> Checkpoint:
    return Checkpoint(f"c{n}", NOW + timedelta(minutes=n), "Hangzhou", status, f"{status} here")


def told(outcome: Outcome) -> list[tuple[str, object]]:
    return [(e.TYPE, e.model_dump().get("reason")) for e in outcome.events]


@pytest.mark.parametrize(
    ("checkpoint", "reason"), [(S.REFUSED, "refused"), (S.RETURNED, "undeliverable")]
)
@pytest.mark.parametrize(
    "status", [ParcelStatus.SHIPPED, ParcelStatus.IN_TRANSIT, ParcelStatus.OUT_FOR_DELIVERY]
)
def test_a_parcel_on_its_way_refused_or_sent_back_turns_back_told_once(
    status: ParcelStatus, checkpoint: CheckpointStatus, reason: str
) -> None:
    turned = shipments.tracked(parcel(status), cp(checkpoint), timing(), NOW)
    assert turned.shipment is not None and turned.shipment.status is ParcelStatus.RETURNING
    assert told(turned) == [("ShipmentRefused", reason)]
    [refused] = turned.events
    body = refused.model_dump(mode="json")
    assert body["city"] == "Hangzhou" and body["tracking_number"] == "SF1"
    assert body["refused_at"] == cp(checkpoint).checkpoint_at.isoformat().replace("+00:00", "Z")
    assert turned.timers == {(SILENCE, "shp_1"): None}, "no delay is told of a parcel going back"
    assert turned.restock == (), "nothing is on the shelf until the parcel is back"

    for later in (S.REFUSED, S.RETURNED, S.FAILED_ATTEMPT, S.IN_TRANSIT, S.DELIVERED):
        again = shipments.tracked(turned.shipment, cp(later, 2), timing(), NOW, attempts=9)
        assert again.shipment is not None and again.shipment.status is ParcelStatus.RETURNING
        assert told(again) == [("CheckpointReached", None)], later
        assert again.timers == {(SILENCE, "shp_1"): None}


def test_the_last_failed_attempt_gives_the_parcel_up_as_undeliverable() -> None:
    on_its_way = parcel()
    for attempt in (1, 2):
        tried = shipments.tracked(
            on_its_way, cp(S.FAILED_ATTEMPT), timing(3), NOW, attempts=attempt
        )
        assert tried.shipment is not None and tried.shipment.status is on_its_way.status
        assert told(tried) == [("CheckpointReached", None)]
        assert tried.timers[(SILENCE, "shp_1")] == NOW + timedelta(hours=1), "still watched"
    third = shipments.tracked(on_its_way, cp(S.FAILED_ATTEMPT), timing(3), NOW, attempts=3)
    assert third.shipment is not None and third.shipment.status is ParcelStatus.RETURNING
    assert told(third) == [("ShipmentRefused", "undeliverable")]
    never = shipments.tracked(on_its_way, cp(S.FAILED_ATTEMPT), timing(0), NOW, attempts=30)
    assert never.shipment is not None and never.shipment.status is on_its_way.status, "0: never"


def test_back_at_the_shop_the_goods_go_back_on_the_shelf_once() -> None:
    going_back = parcel(ParcelStatus.RETURNING)
    arrived = cp(S.RETURNED_TO_SHOP, 3)
    home = shipments.tracked(going_back, arrived, timing(), NOW, lines=LINES)
    assert home.shipment is not None and home.shipment.status is ParcelStatus.RETURNED
    assert home.shipment.returned_at == arrived.checkpoint_at
    restocked = [(x.line_id, x.sku, x.quantity) for x in home.restock]
    assert restocked == [("l1", "TEE", 2), ("l2", "CAP", 1)]
    assert told(home) == [("ShipmentReturnedToShop", None)]
    [event] = home.events
    assert [x["sku"] for x in event.model_dump()["restocked"]] == ["TEE", "CAP"]
    assert home.timers == {(SILENCE, "shp_1"): None}

    again = shipments.tracked(home.shipment, cp(S.RETURNED_TO_SHOP, 4), timing(), NOW, lines=LINES)
    assert again.restock == () and told(again) == [("CheckpointReached", None)]
    assert again.shipment is not None and again.shipment.returned_at == arrived.checkpoint_at


def test_a_parcel_reported_back_at_the_shop_unannounced_is_refused_then_restocked() -> None:
    home = shipments.tracked(parcel(), cp(S.RETURNED_TO_SHOP), timing(), NOW, lines=LINES)
    assert home.shipment is not None and home.shipment.status is ParcelStatus.RETURNED
    assert told(home) == [("ShipmentRefused", "undeliverable"), ("ShipmentReturnedToShop", None)]
    assert len(home.restock) == 2


@pytest.mark.parametrize(
    "checkpoint", [S.REFUSED, S.RETURNED, S.RETURNED_TO_SHOP, S.FAILED_ATTEMPT]
)
def test_a_delivered_parcel_stays_delivered_whatever_follows(checkpoint: CheckpointStatus) -> None:
    delivered = replace(parcel(ParcelStatus.DELIVERED), delivered_at=NOW)
    after = shipments.tracked(delivered, cp(checkpoint), timing(1), NOW, attempts=5, lines=LINES)
    assert after.shipment is not None and after.shipment.status is ParcelStatus.DELIVERED
    assert told(after) == [("CheckpointReached", None)], "on the timeline, nothing more"
    assert after.restock == ()


def test_no_delay_is_told_of_a_parcel_going_back_or_back() -> None:
    for status in (ParcelStatus.RETURNING, ParcelStatus.RETURNED):
        assert shipments.silent(parcel(status), timing(), NOW + timedelta(days=3)).events == []


def test_the_warehouse_takes_back_only_a_parcel_going_back_and_only_once() -> None:
    home = shipments.received_back(parcel(ParcelStatus.RETURNING), LINES, NOW)
    assert home.shipment is not None and home.shipment.status is ParcelStatus.RETURNED
    assert home.shipment.returned_at == NOW and len(home.restock) == 2
    assert told(home) == [("ShipmentReturnedToShop", None)]
    assert shipments.received_back(home.shipment, LINES, NOW) == Outcome(), "once"
    for status in (ParcelStatus.OUT_FOR_DELIVERY, ParcelStatus.DELIVERED, ParcelStatus.PENDING):
        with pytest.raises(shipments.NotReturning, match=status.value) as refused:
            shipments.received_back(parcel(status), LINES, NOW)
        assert refused.value.status is status


def test_the_turn_back_rules_by_status_alone() -> None:
    assert track(ParcelStatus.IN_TRANSIT, S.REFUSED) == track(ParcelStatus.SHIPPED, S.REFUSED)
    back = track(ParcelStatus.RETURNING, S.RETURNED_TO_SHOP)
    assert (back.status, back.announce, back.home) == (ParcelStatus.RETURNED, None, True)
    gave_up = track(ParcelStatus.OUT_FOR_DELIVERY, S.FAILED_ATTEMPT, last_attempt=True)
    assert (gave_up.status, gave_up.announce) == (ParcelStatus.RETURNING, "undeliverable")
    with pytest.raises(ValueError, match="no checkpoints"):
        track(ParcelStatus.CANCELLED, S.REFUSED)
