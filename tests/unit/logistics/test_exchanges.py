"""Exchange rules: whether a replacement can be held and where, at what price, the parcel
it leaves in, and that tracking an exchange's parcel tells nothing of its order."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.logistics.domain import exchanges
from services.logistics.domain.exchanges import Exchange, Hold, Refusal, Shelf
from services.logistics.domain.shipments import tracked
from services.logistics.domain.shipping import (
    Checkpoint,
    CheckpointStatus,
    ParcelStatus,
    Shipment,
    ShippingCalendar,
    Timing,
)
from shared.contracts.envelope import Money
from shared.contracts.events.common import ExchangeItem
from shared.contracts.events.logistics import ExchangeDelivered, ParcelFact

AT = datetime(2026, 12, 4, 9, tzinfo=UTC)
CALENDAR = ShippingCalendar(ZoneInfo("Asia/Shanghai"), time(14, 0), frozenset({1, 2, 3, 4, 5}))
TIMING = Timing(CALENDAR, 0.0, 0.0, 3600.0, 2)
CNY = "CNY"


def shelf(warehouse: str, available: int, sku: str = "TEE-L", name: str | None = "Tee") -> Shelf:
    return Shelf(sku, warehouse, name, "White / L" if name else None, available)


def decide(rows: list[Shelf], quantity: int = 1, owed: int = 0) -> Hold | Refusal:
    return exchanges.hold("TEE-M", "Tee", "TEE-L", quantity, rows, owed)


def test_an_sku_not_stocked_is_unknown() -> None:
    refusal = decide([])
    assert isinstance(refusal, Refusal) and refusal.reason == "unknown_sku"


def test_another_product_or_the_same_sku_is_not_the_same_product() -> None:
    other = exchanges.hold("TEE-M", "Tee", "MUG-1", 1, [shelf("main", 5, "MUG-1", "Mug")], 0)
    same = exchanges.hold("TEE-M", "Tee", "TEE-M", 1, [shelf("main", 5, "TEE-M")], 0)
    unnamed = decide([shelf("main", 5, name=None)])
    for refusal in (other, same, unnamed):
        assert isinstance(refusal, Refusal) and refusal.reason == "not_same_product"


def test_units_held_for_orders_or_owed_to_the_backorder_queue_are_not_taken() -> None:
    assert decide([shelf("main", 2)], quantity=2) == Hold("TEE-L", "main", 2, "Tee", "White / L")
    short = decide([shelf("main", 1)], quantity=2)  # available is on hand less held
    owed = decide([shelf("main", 2)], quantity=2, owed=1)  # a waiting order comes first
    assert isinstance(short, Refusal) and short.reason == "out_of_stock"
    assert isinstance(owed, Refusal) and owed.reason == "out_of_stock"


def test_it_is_held_in_one_warehouse_the_one_with_most_free() -> None:
    held = decide([shelf("east", 3), shelf("north", 5), shelf("west", 5)], quantity=3)
    assert isinstance(held, Hold) and held.warehouse == "north"
    split = decide([shelf("east", 1), shelf("west", 1)], quantity=2)
    assert isinstance(split, Refusal) and split.reason == "out_of_stock", "one parcel only"


def test_the_price_is_the_catalogues_latest_else_the_lines_own() -> None:
    lines = [{"line_id": "l1", "sku": "TEE-M", "unit_price": {"amount": 9_900, "currency": CNY}}]
    latest = Money(amount=8_800, currency=CNY)
    assert exchanges.price(latest, lines, "l1", "TEE-M") == latest
    assert exchanges.price(None, lines, "l1", "TEE-M").amount == 9_900
    assert exchanges.price(None, lines, "l9", "TEE-M").amount == 9_900, "found by its SKU"
    with pytest.raises(LookupError):
        exchanges.price(None, lines, "l9", "MUG-1")


def _exchange() -> Exchange:
    item = ExchangeItem(
        sku="TEE-L", name="Tee", variant="L", quantity=2, unit_price=Money(amount=1, currency=CNY)
    )
    return Exchange("exc_1", "ord_1", "held", "TEE-L", 2, "north", item)


def test_the_parcel_carries_the_replacement_from_its_warehouse_marked_with_its_exchange() -> None:
    parcel = exchanges.parcel(_exchange(), "shp_x", "sf", AT, date(2026, 12, 4))
    assert parcel.exchange_id == "exc_1" and parcel.warehouse == "north"
    assert parcel.status is ParcelStatus.PENDING and parcel.cash_on_delivery is None
    assert [(x["sku"], x["quantity"]) for x in parcel.goods([])] == [("TEE-L", 2)]
    left = exchanges.shipped(parcel, "SF1", AT, TIMING)
    assert left.status is ParcelStatus.SHIPPED and left.tracking_number == "SF1"
    assert left.expected_date == date(2026, 12, 8)


def _on_its_way() -> Shipment:
    return exchanges.shipped(
        exchanges.parcel(_exchange(), "shp_x", "sf", AT, date(2026, 12, 4)), "SF1", AT, TIMING
    )


@pytest.mark.parametrize(
    "status",
    [CheckpointStatus.IN_TRANSIT, CheckpointStatus.DELIVERED, CheckpointStatus.REFUSED],
)
def test_tracking_an_exchange_parcel_moves_it_and_tells_nothing_of_the_order(
    status: CheckpointStatus,
) -> None:
    cp = Checkpoint("c1", AT, "Hangzhou", status, "")
    decided = tracked(_on_its_way(), cp, TIMING, AT)
    assert decided.events and decided.timers, "an order's parcel would be told and watched"
    kept = exchanges.quiet(decided, "exc_1")
    assert not any(isinstance(e, ParcelFact) for e in kept.events), "no parcel fact of the order's"
    assert kept.timers == {} and kept.promise is None
    assert kept.shipment == decided.shipment


def test_an_exchange_parcel_delivered_is_told_of_the_exchange_once() -> None:
    later = AT + timedelta(hours=5)
    delivered = Checkpoint("c1", later, "Hangzhou", CheckpointStatus.DELIVERED, "signed")
    decided = tracked(_on_its_way(), delivered, TIMING, later)
    [told] = exchanges.quiet(decided, "exc_1").events
    assert told == ExchangeDelivered(
        exchange_id="exc_1", shipment_id="shp_x", courier="sf", tracking_number="SF1",
        delivered_at=later,
    )  # fmt: skip
    assert decided.shipment is not None
    for again in (
        Checkpoint("c2", later + timedelta(hours=1), "Hangzhou", CheckpointStatus.DELIVERED, ""),
        Checkpoint("c3", AT, "Hangzhou", CheckpointStatus.DELIVERED, ""),  # a late report
    ):
        repeat = tracked(decided.shipment, again, TIMING, later)
        assert exchanges.quiet(repeat, "exc_1").events == [], "told once per parcel"


def test_a_returned_exchange_parcel_still_brings_its_goods_back() -> None:
    parcel = exchanges.shipped(
        exchanges.parcel(_exchange(), "shp_x", "sf", AT, date(2026, 12, 4)), "SF1", AT, TIMING
    )
    cp = Checkpoint("c1", AT, "Hangzhou", CheckpointStatus.RETURNED_TO_SHOP, "")
    kept = exchanges.quiet(tracked(parcel, cp, TIMING, AT, lines=[]), "exc_1")
    assert [(x.sku, x.quantity) for x in kept.restock] == [("TEE-L", 2)]
    assert kept.events == []
