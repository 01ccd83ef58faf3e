"""Parcels: which goods leave together, a split line's discount to the fen, fewest
warehouses, and an order's parcels opened, shipped and stopped as one order."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from services.logistics.domain import parcels, shipments
from services.logistics.domain.parcels import Plan
from services.logistics.domain.shipping import ParcelStatus
from services.logistics.domain.stock import Allocation, StockLevel, allocate
from shared.contracts.events.logistics import ShipmentCancelled, ShippingPromiseSet
from tests.unit.logistics.test_shipments import NOW, PRICE, order, timing


def line(line_id: str, sku: str, quantity: int, discount: int | None = None) -> dict[str, Any]:
    x: dict[str, Any] = {"line_id": line_id, "sku": sku, "name": sku, "quantity": quantity}
    x["unit_price"] = PRICE
    if discount is not None:
        x["discount"] = {"amount": discount, "currency": "CNY"}
    return x


def goods(plan: Plan) -> list[tuple[str, int]]:
    return [(x["line_id"], int(x["quantity"])) for x in plan.lines]


def test_goods_in_one_warehouse_are_one_parcel_of_the_orders_lines() -> None:
    lines = [line("l1", "TEA", 2), line("l2", "MUG", 1)]
    held = [Allocation("MUG", "north", 1), Allocation("TEA", "north", 2)]
    [whole] = parcels.plan(replace(order(), lines=lines), held)
    assert (whole.warehouse, goods(whole)) == ("north", [("l1", 2), ("l2", 1)])
    assert set(whole.rows) == {("MUG", "north"), ("TEA", "north")}


def test_goods_in_two_warehouses_are_two_parcels_the_fuller_first() -> None:
    lines = [line("l1", "TEA", 1), line("l2", "MUG", 2), line("l3", "TEE", 3)]
    held = [
        Allocation("MUG", "north", 2),
        Allocation("TEA", "main", 1),
        Allocation("TEE", "main", 1),
        Allocation("TEE", "north", 2),
    ]
    north, main = parcels.plan(replace(order(), lines=lines), held)
    assert (north.warehouse, goods(north)) == ("north", [("l2", 2), ("l3", 2)])
    assert (main.warehouse, goods(main)) == ("main", [("l1", 1), ("l3", 1)])
    assert set(north.rows) == {("MUG", "north"), ("TEE", "north")}


@pytest.mark.parametrize(
    ("discount", "split", "shares"),
    [
        (1_000, (2, 1), [666, 334]),  # rounded down, the last part takes the rest
        (1, (1, 1), [0, 1]),
        (999, (3, 0), None),  # not split: the line keeps its discount whole
    ],
)
def test_a_split_lines_discount_is_shared_to_the_fen(
    discount: int, split: tuple[int, int], shares: list[int] | None
) -> None:
    quantity = sum(split)
    held = [Allocation("TEE", w, n) for w, n in zip(("main", "north"), split, strict=True) if n]
    plans = parcels.plan(replace(order(), lines=[line("l1", "TEE", quantity, discount)]), held)
    got = [int(p.lines[0]["discount"]["amount"]) for p in plans]
    assert got == (shares or [discount])
    assert sum(got) == discount


def test_cash_on_delivery_is_one_parcel_whatever_holds_its_goods() -> None:
    cod = replace(
        order(method="cash_on_delivery"), lines=[line("l1", "TEA", 1), line("l2", "MUG", 2)]
    )
    held = [Allocation("TEA", "main", 1), Allocation("MUG", "north", 2)]
    [whole] = parcels.plan(cod, held)
    assert whole.warehouse == "north" and goods(whole) == [("l1", 1), ("l2", 2)]
    assert set(whole.rows) == {("TEA", "main"), ("MUG", "north")}


def level(sku: str, warehouse: str, on_hand: int) -> StockLevel:
    return StockLevel(sku, warehouse, on_hand, 0)


def test_allocation_takes_the_one_warehouse_that_holds_the_whole_order() -> None:
    levels = [level("TEA", "main", 3), level("TEA", "north", 9), level("MUG", "main", 2)]
    assert allocate({"TEA": 2, "MUG": 1}, levels) == (
        [Allocation("MUG", "main", 1), Allocation("TEA", "main", 2)],
        [],
    )


def test_allocation_keeps_to_the_warehouses_it_already_takes_from() -> None:
    """MUG is only in north; TEA would come from main (more of it there), but north holds
    enough too, so the order leaves as one parcel less."""
    levels = [level("MUG", "north", 1), level("TEA", "main", 9), level("TEA", "north", 2)]
    levels += [level("PEN", "main", 1)]
    allocations, short = allocate({"MUG": 1, "TEA": 2, "PEN": 1}, levels)
    assert short == []
    assert allocations == [
        Allocation("MUG", "north", 1),
        Allocation("PEN", "main", 1),
        Allocation("TEA", "main", 2),
    ]


def two_parcels() -> list[tuple[str, Plan]]:
    lines = [line("l1", "TEA", 1), line("l2", "MUG", 1)]
    held = [Allocation("TEA", "main", 1), Allocation("MUG", "north", 1)]
    plans = parcels.plan(replace(order(), lines=lines), held)
    return [("shp_1", plans[0]), ("shp_2", plans[1])]


def test_an_orders_parcels_are_opened_with_one_promise_that_names_them_all() -> None:
    first, second = shipments.opened(order(), two_parcels(), "sf", NOW, NOW, timing(60))
    assert first.shipment is not None and second.shipment is not None
    assert (first.shipment.parcel_number, second.shipment.parcel_number) == (1, 2)
    assert {first.shipment.parcel_count, second.shipment.parcel_count} == {2}
    [promise] = first.events
    assert isinstance(promise, ShippingPromiseSet) and second.events == []
    assert [(p.shipment_id, p.warehouse) for p in promise.parcels] == [
        ("shp_1", "main"),
        ("shp_2", "north"),
    ]
    assert len(first.timers) == 2 and second.timers == {}, "the order's dispatch and ship-by"


def test_each_parcel_ships_with_its_own_goods_and_number() -> None:
    _, pending = shipments.opened(order(), two_parcels(), "sf", NOW, NOW, timing(60))
    assert pending.shipment is not None
    [shipped] = shipments.shipped(order(), pending.shipment, "SF2", NOW, timing()).events
    assert [x.line_id for x in shipped.lines] == ["l2"]  # type: ignore[attr-defined]
    assert shipped.parcel.model_dump() == {"number": 2, "of": 2}  # type: ignore[attr-defined]
    booking = shipments.dispatched(order(), pending.shipment).booking
    assert booking is not None and booking[1]["parcel"]["items"] == 1


def test_stopping_an_order_cancels_every_waiting_parcel_told_once() -> None:
    opened = shipments.opened(order(), two_parcels(), "sf", NOW, NOW, timing(60))
    waiting = [o.shipment for o in opened if o.shipment is not None]
    stopped = shipments.stopped(waiting, "order_cancelled:customer_request", timing(60))
    assert [o.shipment.status for o in stopped if o.shipment] == [ParcelStatus.CANCELLED] * 2
    told = [e for o in stopped for e in o.events]
    assert len(told) == 1 and isinstance(told[0], ShipmentCancelled)
