"""Several parcels per order: goods held in two warehouses leave as two parcels, each with
its own goods, courier booking, tracking number and checkpoints; stock leaves with each
parcel; a stop before either left stops both; cash on delivery stays one parcel."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shared.contracts.events.common import PaymentMethod
from shared.contracts.events.order import OrderCancelled
from tests.integration.logistics.support import Logistics, of, placed
from tests.support.events import new_id, paid, payload
from tests.support.http import OPS, client
from tests.support.kafka import TopicTail


async def stock_in(lg: Logistics, sku: str, warehouse: str, on_hand: int) -> None:
    async with client(lg.runtime) as http:
        body = {"on_hand": on_hand, "low_stock_threshold": 0, "warehouse": warehouse}
        response = await http.put(f"/v1/stock/{sku}", json=body, headers=OPS)
    assert response.status_code == 200, response.text


def rows(stock: dict[str, Any]) -> dict[str, tuple[int, int]]:
    return {w["warehouse"]: (w["on_hand"], w["reserved"]) for w in stock["warehouses"]}


async def test_goods_in_two_warehouses_leave_as_two_parcels_each_tracked_on_its_own(
    lg: Logistics, tail: TopicTail
) -> None:
    order_id = new_id("ord")
    async with lg.running() as runtime:
        tea, mug, tee = new_id("TEA"), new_id("MUG"), new_id("TEE")
        await stock_in(lg, tea, "main", 5)
        await stock_in(lg, mug, "north", 4)
        await stock_in(lg, tee, "main", 1)  # 3 wanted: one from main, two from north
        await stock_in(lg, tee, "north", 2)
        await lg.send(placed([(tea, 2), (mug, 1), (tee, 3)]), order_id)
        await tail.wait_for(of(order_id, "StockReserved"))
        payment = await lg.send(paid(59_400), order_id)
        await lg.resend(payment)
        shipped = await tail.wait_for(of(order_id, "ShipmentShipped"), count=2)
        [promise] = await tail.wait_for(of(order_id, "ShippingPromiseSet"))
        now = datetime.now(UTC)
        first = payload(shipped[0])
        await lg.post_checkpoint(
            first["courier"], first["tracking_number"], "a-1", now, "delivered"
        )
        [delivered] = await tail.wait_for(of(order_id, "ShipmentDelivered"))
        async with client(runtime) as http:
            view = (await http.get(f"/v1/orders/{order_id}/shipment", headers=OPS)).json()
        stock = {sku: rows(await lg.stock(sku)) for sku in (tea, mug, tee)}
    parcels = payload(promise)["parcels"]
    assert [(p["warehouse"], [(x["sku"], x["quantity"]) for x in p["lines"]]) for p in parcels] == [
        ("main", [(tea, 2), (tee, 1)]),
        ("north", [(mug, 1), (tee, 2)]),
    ], "the warehouse with the most units is parcel 1; the T-shirt line is split"
    by_id = {payload(r)["shipment_id"]: payload(r) for r in shipped}
    assert set(by_id) == {p["shipment_id"] for p in parcels}
    main, north = (by_id[p["shipment_id"]] for p in parcels)
    assert [(x["sku"], x["quantity"]) for x in main["lines"]] == [(tea, 2), (tee, 1)]
    assert [(x["sku"], x["quantity"]) for x in north["lines"]] == [(mug, 1), (tee, 2)]
    assert (main["parcel"], north["parcel"]) == ({"number": 1, "of": 2}, {"number": 2, "of": 2})
    assert main["tracking_number"] != north["tracking_number"]
    assert main["courier"] == north["courier"], "one order, one address: one courier"
    assert payload(delivered)["shipment_id"] == first["shipment_id"]
    assert payload(delivered)["parcel"] == first["parcel"]
    assert lg.told(order_id).count("ShipmentShipped") == 2, "each parcel ships once"
    assert [p["status"] for p in view["parcels"]] == (
        ["delivered", "shipped"]
        if first["shipment_id"] == main["shipment_id"]
        else ["shipped", "delivered"]
    )
    assert view["shipment_id"] == parcels[0]["shipment_id"]
    assert stock == {
        tea: {"main": (3, 0)},
        mug: {"north": (3, 0)},
        tee: {"main": (0, 0), "north": (0, 0)},
    }, "each parcel took its own units off its own shelf"


async def test_an_order_held_whole_in_one_warehouse_is_one_parcel(
    lg: Logistics, tail: TopicTail
) -> None:
    """Rather than split, allocation serves an order from the one warehouse that holds it
    all, even where another holds more of one line."""
    order_id = new_id("ord")
    async with lg.running():
        tea, mug = new_id("TEA"), new_id("MUG")
        await stock_in(lg, tea, "main", 3)
        await stock_in(lg, tea, "north", 9)
        await stock_in(lg, mug, "main", 2)
        await lg.send(placed([(tea, 2), (mug, 1)]), order_id)
        await lg.send(paid(29_700), order_id)
        [shipped] = await tail.wait_for(of(order_id, "ShipmentShipped"))
        [promise] = await tail.wait_for(of(order_id, "ShippingPromiseSet"))
        tea_rows = rows(await lg.stock(tea))
    assert payload(shipped)["parcel"] == {"number": 1, "of": 1}
    assert [p["warehouse"] for p in payload(promise)["parcels"]] == ["main"]
    assert tea_rows == {"main": (1, 0), "north": (9, 0)}


async def test_a_cancellation_before_either_parcel_left_stops_both_and_frees_all_the_stock(
    lg: Logistics, tail: TopicTail
) -> None:
    order_id = new_id("ord")
    async with lg.running(warehouse_steps=True):
        tea, mug = new_id("TEA"), new_id("MUG")
        await stock_in(lg, tea, "main", 2)
        await stock_in(lg, mug, "north", 2)
        await lg.send(placed([(tea, 1), (mug, 1)]), order_id)
        await lg.send(paid(19_800), order_id)
        [promise] = await tail.wait_for(of(order_id, "ShippingPromiseSet"))
        async with client(lg.runtime) as http:
            before = (await http.get("/v1/ops/pick-list", headers=OPS)).json()["pick_list"]
            await lg.send(OrderCancelled(reason="customer_request", was_paid=True), order_id)
            await tail.wait_for(of(order_id, "StockReleased"))
            after = (await http.get("/v1/ops/pick-list", headers=OPS)).json()["pick_list"]
        stock = {sku: rows(await lg.stock(sku)) for sku in (tea, mug)}
    assert len(payload(promise)["parcels"]) == 2
    assert lg.told(order_id).count("ShipmentCancelled") == 1, "told once for the order"
    ids = [p["shipment_id"] for p in payload(promise)["parcels"]]
    picks = {e["shipment_id"]: e for e in before if e["order_id"] == order_id}
    assert [(picks[i]["warehouse"], picks[i]["parcel"]) for i in ids] == [
        ("main", {"number": 1, "of": 2}),
        ("north", {"number": 2, "of": 2}),
    ], "each warehouse picks its own parcel"
    assert [(x["sku"], x["quantity"]) for x in picks[ids[1]]["lines"]] == [(mug, 1)]
    assert not [e for e in after if e["order_id"] == order_id]
    assert stock == {tea: {"main": (2, 0)}, mug: {"north": (2, 0)}}


async def test_cash_on_delivery_travels_as_one_parcel_collecting_once(
    lg: Logistics, tail: TopicTail
) -> None:
    order_id = new_id("ord")
    async with lg.running():
        tea, mug = new_id("TEA"), new_id("MUG")
        await stock_in(lg, tea, "main", 2)
        await stock_in(lg, mug, "north", 2)
        order = placed([(tea, 1), (mug, 1)], method=PaymentMethod.CASH_ON_DELIVERY)
        await lg.send(order, order_id)
        [shipped] = await tail.wait_for(of(order_id, "ShipmentShipped"))
        stock = {sku: rows(await lg.stock(sku)) for sku in (tea, mug)}
    body = payload(shipped)
    assert body["parcel"] == {"number": 1, "of": 1} and len(body["lines"]) == 2
    assert body["cash_on_delivery"] == {"amount": 19_800, "currency": "CNY"}
    assert stock == {tea: {"main": (1, 0)}, mug: {"north": (1, 0)}}
