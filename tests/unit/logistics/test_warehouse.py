"""The warehouse's stage rules: a paid order waits to be picked, packed and handed over,
only forward; only the hand-over books the courier; the promise is watched meanwhile."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from services.logistics import packing_slip
from services.logistics.domain import shipments, warehouse
from services.logistics.domain.shipping import SHIP, SHIP_BY, ParcelStatus, Shipment, Timing
from services.logistics.domain.warehouse import (
    NotInWarehouse,
    OutOfOrder,
    Packing,
    PackingRefused,
    Stage,
)
from tests.unit.logistics.support import open_whole
from tests.unit.logistics.test_shipments import CALENDAR, NOW, order

WAREHOUSE = Timing(CALENDAR, 0.0, 0.0, 3600.0, 2, warehouse_steps=True)
LATER = NOW + timedelta(minutes=5)


def waiting() -> Shipment:
    opened = open_whole(order(), "shp_1", "sf", NOW, NOW, WAREHOUSE)
    assert opened.shipment is not None
    return opened.shipment


def test_with_warehouse_steps_a_paid_order_waits_unbooked_and_its_promise_is_watched() -> None:
    opened = open_whole(order(), "shp_1", "sf", NOW, NOW, WAREHOUSE)
    assert opened.booking is None, "only the hand-over books the courier"
    assert (SHIP, "ord_1") not in opened.timers, "no dispatch timer: the warehouse decides"
    assert opened.timers[(SHIP_BY, "ord_1:2026-11-11")] == CALENDAR.ship_by(date(2026, 11, 11))
    assert [e.TYPE for e in opened.events] == ["ShippingPromiseSet"]


def test_the_stages_move_forward_one_at_a_time_and_only_the_hand_over_books() -> None:
    shipment, entry = waiting(), warehouse.entered("shp_1", NOW)
    picked = warehouse.advanced(entry, shipment, Stage.PICKED, LATER)
    assert [e.TYPE for e in picked.events] == ["ShipmentPicked"] and not picked.hand_over
    packed = warehouse.advanced(picked.entry, shipment, Stage.PACKED, LATER, Packing(850))
    assert [e.TYPE for e in packed.events] == ["ShipmentPacked"] and not packed.hand_over
    assert (packed.entry.weight_grams, packed.entry.parcels) == (850, 1)
    over = warehouse.advanced(packed.entry, shipment, Stage.HANDED_OVER, LATER)
    assert over.hand_over and over.events == [] and over.entry.stage is Stage.HANDED_OVER


def test_a_repeat_answers_the_same_and_keeps_the_first_packing() -> None:
    shipment, entry = waiting(), warehouse.entered("shp_1", NOW)
    picked = warehouse.advanced(entry, shipment, Stage.PICKED, LATER).entry
    packed = warehouse.advanced(picked, shipment, Stage.PACKED, LATER, Packing(850)).entry
    again = warehouse.advanced(packed, shipment, Stage.PACKED, LATER, Packing(999))
    assert again.repeat and again.events == [] and again.entry.weight_grams == 850
    over = warehouse.advanced(packed, shipment, Stage.HANDED_OVER, LATER).entry
    shipped = replace(shipment, status=ParcelStatus.SHIPPED)
    twice = warehouse.advanced(over, shipped, Stage.HANDED_OVER, LATER)
    assert twice.repeat and not twice.hand_over, "a repeat hand-over books nothing again"


@pytest.mark.parametrize(
    ("at", "step"),
    [
        (Stage.TO_PICK, Stage.PACKED),
        (Stage.TO_PICK, Stage.HANDED_OVER),
        (Stage.PICKED, Stage.HANDED_OVER),
        (Stage.PACKED, Stage.PICKED),
        (Stage.PICKED, Stage.TO_PICK),
    ],
)
def test_a_step_out_of_order_names_the_current_stage(at: Stage, step: Stage) -> None:
    entry = replace(warehouse.entered("shp_1", NOW), stage=at)
    with pytest.raises(OutOfOrder) as refused:
        warehouse.advanced(entry, waiting(), step, LATER, Packing(500))
    assert refused.value.current is at
    assert at.value in str(refused.value)


def test_a_stopped_shipment_takes_no_step_not_even_a_repeat() -> None:
    stopped = replace(waiting(), status=ParcelStatus.CANCELLED)
    entry = replace(warehouse.entered("shp_1", NOW), stage=Stage.PICKED)
    for step in (Stage.PICKED, Stage.PACKED):
        with pytest.raises(NotInWarehouse) as refused:
            warehouse.advanced(entry, stopped, step, LATER, Packing(500))
        assert refused.value.status is ParcelStatus.CANCELLED


@pytest.mark.parametrize(
    ("packing", "field"),
    [(Packing(0), "weight_grams"), (Packing(-5), "weight_grams"), (Packing(500, 0), "parcels")],
)
def test_packing_without_a_weight_or_a_parcel_names_the_field(packing: Packing, field: str) -> None:
    with pytest.raises(PackingRefused) as refused:
        warehouse.checked_packing(packing)
    assert refused.value.field == field


def test_several_parcels_are_refused_as_not_supported_yet() -> None:
    with pytest.raises(PackingRefused, match="not supported yet") as refused:
        warehouse.checked_packing(Packing(500, parcels=2))
    assert refused.value.field == "parcels"


def test_the_promise_missed_while_picking_is_told_since_the_parcel_has_not_left() -> None:
    late = shipments.late_to_ship(waiting(), WAREHOUSE, NOW + timedelta(days=1))
    assert [e.TYPE for e in late.events] == ["ShipmentDelayed"]


def test_the_packing_slip_escapes_the_order_and_speaks_its_language() -> None:
    slip = {
        "order_id": "ord_1",
        "shipment_id": "shp_1",
        "courier": "sf",
        "locale": "zh-TW",
        "gift_message": "<b>生日快樂</b>",
        "address": {"recipient": "Li", "line1": "1 Road", "city": "Taipei", "country": "TW"},
        "lines": [{"sku": "TEE", "name": "Tee", "variant": "White / M", "quantity": 2}],
    }
    html = packing_slip.render(slip)
    assert "&lt;b&gt;生日快樂&lt;/b&gt;" in html and "<b>" not in html
    assert packing_slip.WORDS["zh-TW"]["return_instructions"] in html
    assert "White / M" in html and "Taipei" in html
    english = packing_slip.render(slip | {"locale": None, "gift_message": None})
    assert packing_slip.WORDS["en"]["return_instructions"] in english
    assert "gift-message" not in english
