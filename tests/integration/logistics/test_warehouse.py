"""The warehouse between payment and the courier (LOGISTICS_WAREHOUSE_STEPS): a paid order
waits on the pick list by its promise, is picked, packed and handed over; only the
hand-over ships it, once. A refund before the hand-over still stops it, and a promise
missed while it waits is told."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from shared.contracts.events.common import Locale, PaymentMethod
from shared.contracts.events.order import OrderPaid, OrderPlaced
from tests.integration.logistics.support import Logistics, of, placed
from tests.integration.logistics.test_refund_stop import before_shipping
from tests.integration.ops.support import env_for, fulfil
from tests.support.events import new_id, now, paid, payload
from tests.support.http import OPS, client
from tests.support.kafka import TopicTail

WAREHOUSE = {"warehouse_steps": True}


async def waiting(lg: Logistics, sku: str, *, paid_days_ago: int = 0, **order: Any) -> str:
    """An order for one unit of the SKU placed and paid `paid_days_ago`; its shipment id
    once it waits in the warehouse."""
    order_id = new_id("ord")
    await lg.send(_placed(sku, **order), order_id)
    await lg.tail.wait_for(of(order_id, "StockReserved"))
    at = now() - timedelta(days=paid_days_ago)
    card = PaymentMethod.CARD
    await lg.send(OrderPaid(amount=paid(9_900).amount, payment_method=card, paid_at=at), order_id)
    [promise] = await lg.tail.wait_for(of(order_id, "ShippingPromiseSet"))
    return str(payload(promise)["shipment_id"])


def _placed(sku: str, gift: str | None = None, locale: Locale = Locale.ZH_CN) -> OrderPlaced:
    return placed([(sku, 1)]).model_copy(update={"gift_message": gift, "locale": locale})


async def step(lg: Logistics, shipment_id: str, name: str, **body: Any) -> httpx.Response:
    async with client(lg.runtime) as http:
        path = f"/v1/ops/shipments/{shipment_id}/{name}"
        return await http.post(path, json=body or None, headers=OPS)


async def pick_list(lg: Logistics, **params: Any) -> dict[str, Any]:
    async with client(lg.runtime) as http:
        response = await http.get("/v1/ops/pick-list", params=params, headers=OPS)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def put_back_list(lg: Logistics) -> dict[str, Any]:
    async with client(lg.runtime) as http:
        response = await http.get("/v1/ops/put-back", headers=OPS)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_the_pick_list_follows_the_promise_and_only_the_hand_over_ships_once(
    lg: Logistics, tail: TopicTail
) -> None:
    async with lg.running(**WAREHOUSE):
        sku = await lg.stocked(on_hand=5)
        today = await waiting(lg, sku, gift="Happy birthday, Mei!")
        overdue = await waiting(lg, sku, paid_days_ago=7)
        first = await pick_list(lg, limit=1)
        second = await pick_list(lg, limit=1, cursor=first["next_cursor"])
        assert [s["shipment_id"] for s in first["pick_list"] + second["pick_list"]] == [
            overdue,
            today,
        ], "the earliest promise first, page after page"
        assert second["next_cursor"] is None
        entry = second["pick_list"][0]
        assert entry["stage"] == "to_pick" and entry["gift_message"] == "Happy birthday, Mei!"
        assert entry["lines"] == [
            {"sku": sku, "name": "Cotton T-shirt", "variant": "White / M", "quantity": 1}
        ]

        early = await step(lg, today, "handed-over")
        assert early.status_code == 409 and early.json()["stage"] == "to_pick"
        assert (await step(lg, today, "picked")).status_code == 200
        assert (await step(lg, today, "picked")).json()["stage"] == "picked", "a repeat"
        light = await step(lg, today, "packed", weight_grams=0, parcels=1)
        assert light.status_code == 422 and "weight_grams" in light.text
        several = await step(lg, today, "packed", weight_grams=600, parcels=2)
        assert several.status_code == 422 and several.json()["field"] == "parcels"
        packed = await step(lg, today, "packed", weight_grams=600, parcels=1)
        assert packed.json()["stage"] == "packed" and packed.json()["weight_grams"] == 600
        order_id = packed.json()["order_id"]
        assert "ShipmentShipped" not in lg.told(order_id), "packed is not shipped"
        over = await step(lg, today, "handed-over")
        again = await step(lg, today, "handed-over")
        assert over.status_code == again.status_code == 200
        [shipped] = await tail.wait_for(of(order_id, "ShipmentShipped"))
        left = await pick_list(lg)
    assert [s["shipment_id"] for s in left["pick_list"]] == [overdue]
    assert lg.told(order_id) == [
        "StockReserved",
        "ShippingPromiseSet",
        "ShipmentPicked",
        "ShipmentPacked",
        "ShipmentShipped",
    ], "picked and packed once each; booked and shipped once"
    told = [payload(r) for r in tail.records if of(order_id, "ShipmentPacked")(r)]
    assert (told[0]["weight_grams"], told[0]["parcels"]) == (600, 1)
    assert payload(shipped)["shipment_id"] == today


async def test_a_refund_before_shipping_while_packing_stops_the_shipment_and_nothing_ships(
    lg: Logistics, tail: TopicTail
) -> None:
    async with lg.running(**WAREHOUSE):
        sku = await lg.stocked(on_hand=5)
        shipment_id = await waiting(lg, sku)
        picked = await step(lg, shipment_id, "picked")
        order_id = picked.json()["order_id"]
        await lg.send(before_shipping(new_id("rr"), sku), order_id)
        [stopped] = await tail.wait_for(of(order_id, "ShipmentStopped"))
        late = await step(lg, shipment_id, "packed", weight_grams=500)
        handed = await step(lg, shipment_id, "handed-over")
        listed = await pick_list(lg)
        still_ships = await waiting(lg, sku)
        too_soon = await step(lg, still_ships, "put-back")
        to_put_back = await put_back_list(lg)
        back = await step(lg, shipment_id, "put-back")
        again = await step(lg, shipment_id, "put-back")
        after = await put_back_list(lg)
        after_pick_list = await pick_list(lg)
    assert payload(stopped)["shipment_id"] == shipment_id
    assert payload(stopped)["stock_released"] is True
    assert late.status_code == handed.status_code == 409
    assert late.json()["parcel_status"] == "cancelled"
    assert "ShipmentShipped" not in lg.told(order_id)
    assert [s["shipment_id"] for s in listed["pick_list"]] == [], "it leaves the pick list"
    assert listed["to_put_back"] == 1, "but its picked goods are off the shelf"
    [goods] = to_put_back["put_back"]
    assert (goods["shipment_id"], goods["stage"]) == (shipment_id, "picked")
    assert goods["lines"] == [
        {"sku": sku, "name": "Cotton T-shirt", "variant": "White / M", "quantity": 1}
    ]
    assert too_soon.status_code == 409 and too_soon.json()["parcel_status"] == "pending"
    assert back.status_code == 200 and back.json()["put_back_at"]
    assert again.json()["put_back_at"] == back.json()["put_back_at"], "a repeat answers the same"
    assert after["put_back"] == [] and after_pick_list["to_put_back"] == 0


async def test_the_packing_slip_has_the_gift_message_the_items_and_returns_in_its_language(
    lg: Logistics,
) -> None:
    async with lg.running(**WAREHOUSE):
        sku = await lg.stocked(on_hand=5)
        gift = "生日快樂 <3"
        shipment_id = await waiting(lg, sku, gift=gift, locale=Locale.ZH_TW)
        async with client(lg.runtime) as http:
            slip = await http.get(f"/v1/ops/shipments/{shipment_id}/packing-slip", headers=OPS)
            unknown = await http.get("/v1/ops/shipments/shp_none/packing-slip", headers=OPS)
            anyone = await http.get(f"/v1/ops/shipments/{shipment_id}/packing-slip")
    assert slip.status_code == 200 and slip.headers["content-type"].startswith("text/html")
    html = slip.text
    assert "生日快樂 &lt;3" in html, "the gift message, escaped"
    assert "Cotton T-shirt" in html and "White / M" in html and sku in html
    assert "1 Xihu Road" in html and "Li Wei" in html
    assert "退貨說明" in html and "訂單頁面" in html, "the return instructions in zh-TW"
    assert unknown.status_code == 404 and anyone.status_code == 401


async def test_a_promise_missed_while_still_picking_is_told_to_the_customer(
    lg: Logistics, tail: TopicTail
) -> None:
    async with lg.running(**WAREHOUSE, ship_by_seconds=2):
        sku = await lg.stocked(on_hand=5)
        shipment_id = await waiting(lg, sku)
        picked = await step(lg, shipment_id, "picked")
        order_id = picked.json()["order_id"]
        [delayed] = await tail.wait_for(of(order_id, "ShipmentDelayed"), timeout=30)
        listed = await pick_list(lg)
    body = payload(delayed)
    assert body["reason"] == "not_shipped_by_promise" and body["shipment_id"] == shipment_id
    assert body["new_expected_date"] > body["previous_date"]
    [still] = listed["pick_list"]
    assert still["stage"] == "picked", "still waiting in the warehouse"
    assert still["expected_ship_date"] == body["new_expected_date"]


async def test_the_warehouse_commands_walk_a_shipment_to_the_courier(
    lg: Logistics, tail: TopicTail
) -> None:
    async with lg.running(**WAREHOUSE) as up:
        env = env_for(lg.infra, up)
        sku = await lg.stocked(on_hand=5)
        shipment_id = await waiting(lg, sku, gift="For Mei")
        listed = await fulfil(env, "warehouse", "pick-list", "--json")
        shown = await fulfil(env, "warehouse", "pick-list")
        early = await fulfil(env, "warehouse", "packed", shipment_id, "--weight-grams", "400")
        picked = await fulfil(env, "warehouse", "picked", shipment_id, "--json")
        packed = await fulfil(env, "warehouse", "packed", shipment_id, "--weight-grams", "400")
        over = await fulfil(env, "warehouse", "handed-over", shipment_id, "--json")
        order_id = over.json()["order_id"]
        await tail.wait_for(of(order_id, "ShipmentShipped"))
        after = await fulfil(env, "warehouse", "pick-list", "--json")
    assert listed.code == 0, listed.err
    assert [s["shipment_id"] for s in listed.json()] == [shipment_id]
    assert shipment_id in shown.out and "For Mei" in shown.out
    assert early.code != 0 and "to_pick" in early.err, "out of order: names the stage"
    assert picked.code == 0 and picked.json()["stage"] == "picked"
    assert packed.code == 0 and "packed, 400 g" in packed.out
    assert over.code == 0 and over.json()["stage"] == "handed_over"
    assert after.json() == []


async def test_the_commands_list_a_stopped_shipments_picked_goods_until_put_back(
    lg: Logistics, tail: TopicTail
) -> None:
    async with lg.running(**WAREHOUSE) as up:
        env = env_for(lg.infra, up)
        sku = await lg.stocked(on_hand=5)
        shipment_id = await waiting(lg, sku)
        order_id = (await step(lg, shipment_id, "picked")).json()["order_id"]
        await lg.send(before_shipping(new_id("rr"), sku), order_id)
        await tail.wait_for(of(order_id, "ShipmentStopped"))
        hint = await fulfil(env, "warehouse", "pick-list")
        listed = await fulfil(env, "warehouse", "put-back-list")
        back = await fulfil(env, "warehouse", "put-back", shipment_id)
        after = await fulfil(env, "warehouse", "put-back-list", "--json")
    assert hint.code == 0 and "1 stopped shipments' picked goods to put back" in hint.out
    assert listed.code == 0 and shipment_id in listed.out and sku in listed.out
    assert back.code == 0 and "back on the shelf" in back.out, back.err
    assert after.json() == []


async def test_without_warehouse_steps_a_paid_order_ships_at_once_and_no_step_applies(
    lg: Logistics, tail: TopicTail
) -> None:
    async with lg.running():
        sku = await lg.stocked(on_hand=5)
        order_id = new_id("ord")
        await lg.send(placed([(sku, 1)]), order_id)
        await lg.send(paid(9_900), order_id)
        [shipped] = await tail.wait_for(of(order_id, "ShipmentShipped"))
        shipment_id = payload(shipped)["shipment_id"]
        refused = await step(lg, shipment_id, "picked")
        listed = await pick_list(lg)
    assert refused.status_code == 409 and "without warehouse steps" in refused.json()["message"]
    assert listed["pick_list"] == []
