"""Delays operations announce: which parcels one covers, and what it does to each."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from services.logistics.domain import delays
from services.logistics.domain.delays import Announcement, AnnouncementRefused
from services.logistics.domain.shipping import (
    SHIP_BY,
    ParcelStatus,
    Shipment,
    ShippingCalendar,
    Timing,
)

CALENDAR = ShippingCalendar(ZoneInfo("Asia/Shanghai"), time(14, 0), frozenset({1, 2, 3, 4, 5}))
NOW = datetime(2026, 11, 11, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in Shanghai
TODAY = date(2026, 11, 11)
PEAK = Announcement(
    delay_id="d11", cause="peak", expected_from=date(2026, 11, 11),
    expected_to=date(2026, 11, 13), days=2, region="Zhejiang",
)  # fmt: skip


def parcel(status: ParcelStatus = ParcelStatus.PENDING, expected: date = TODAY) -> Shipment:
    return Shipment(
        "shp_1", "ord_1", status, "sf", None, None, TODAY, expected, NOW, None, None, None
    )


def timing(*, warehouse: bool = True) -> Timing:
    return Timing(CALENDAR, 0.0, 0.0, 3600.0, 2, warehouse_steps=warehouse)


def test_it_covers_open_parcels_of_its_region_courier_and_range_not_yet_passed() -> None:
    assert delays.covers(PEAK, parcel(), "zhejiang", TODAY), "a region in any case"
    assert not delays.covers(PEAK, parcel(), "Guangdong", TODAY)
    assert not delays.covers(PEAK, parcel(), None, TODAY)
    assert not delays.covers(PEAK, parcel(expected=date(2026, 11, 14)), "Zhejiang", TODAY)
    assert not delays.covers(PEAK, parcel(), "Zhejiang", date(2026, 11, 12)), "already passed"
    for gone in (ParcelStatus.DELIVERED, ParcelStatus.CANCELLED, ParcelStatus.RETURNING):
        assert not delays.covers(PEAK, parcel(gone), "Zhejiang", TODAY)
    on_its_way = parcel(ParcelStatus.IN_TRANSIT, date(2026, 11, 13))
    assert delays.covers(PEAK, on_its_way, "Zhejiang", TODAY)
    waiting_only = replace(PEAK, parcels="waiting")
    assert not delays.covers(waiting_only, on_its_way, "Zhejiang", TODAY)
    courier = replace(PEAK, region=None, courier="zto")
    assert not delays.covers(courier, parcel(), "Zhejiang", TODAY)
    assert delays.covers(replace(courier, courier="sf"), parcel(), "Guangdong", TODAY)


def test_a_waiting_parcel_gets_the_later_promise_watched_in_place_of_the_old_one() -> None:
    outcome = delays.announced(PEAK, parcel(), timing(), NOW)
    friday = date(2026, 11, 13)  # two working days after Wednesday
    assert outcome.shipment is not None and outcome.shipment.expected_date == friday
    assert outcome.promise == friday
    assert outcome.timers == {
        (SHIP_BY, "ord_1:2026-11-11"): None,
        (SHIP_BY, "ord_1:2026-11-13"): CALENDAR.ship_by(friday),
    }
    [told] = outcome.events
    assert told.TYPE == "ShipmentDelayAnnounced"
    assert told.model_dump(mode="json") == {
        "delay_id": "d11", "cause": "peak", "shipment_id": "shp_1", "courier": "sf",
        "stage": "waiting", "previous_date": "2026-11-11", "new_expected_date": "2026-11-13",
    }  # fmt: skip
    at_once = delays.announced(PEAK, parcel(), timing(warehouse=False), NOW)
    assert at_once.timers == {}, "a parcel booked at once has no ship-by timer to move"


def test_a_parcel_on_its_way_is_expected_later_its_promise_untouched() -> None:
    friday = date(2026, 11, 13)
    outcome = delays.announced(PEAK, parcel(ParcelStatus.SHIPPED, friday), timing(), NOW)
    assert outcome.shipment is not None
    assert outcome.shipment.expected_date == date(2026, 11, 17), "over the weekend"
    assert outcome.promise is None and outcome.timers == {}
    assert outcome.events[0].model_dump()["stage"] == "on_its_way"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"expected_to": date(2026, 11, 10)}, "expected_to"),
        ({"expected_from": date(2026, 8, 1), "expected_to": date(2026, 11, 12)}, "expected_to"),
        ({"expected_from": date(2026, 11, 1), "expected_to": date(2026, 11, 10)}, "expected_to"),
        ({"courier": "dhl"}, "courier"),
    ],
)
def test_an_announcement_that_cannot_be_made_names_its_field(
    change: dict[str, object], field: str
) -> None:
    with pytest.raises(AnnouncementRefused) as refused:
        delays.check(replace(PEAK, **change), TODAY, frozenset({"sf", "zto"}))  # type: ignore[arg-type]
    assert refused.value.field == field
    delays.check(PEAK, TODAY, frozenset({"sf"}))


def test_a_repeat_is_the_same_announcement_whenever_made() -> None:
    made = replace(PEAK, announced_at=NOW)
    assert made.same_as(PEAK)
    assert not made.same_as(replace(PEAK, days=3))
