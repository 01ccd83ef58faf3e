"""Cash on delivery, refused at the door: the courier's refusal (the sandbox courier's
signed webhook) turns the parcel back, told once however often it is reported; back at
the shop its goods are on the shelf again, once; the warehouse can record it back when
the courier never reports it; and no delay is ever told of a parcel going back."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from shared.contracts.events.common import PaymentMethod
from shared.runtime import Runtime
from tests.integration.logistics.support import Logistics, of, placed
from tests.integration.ops.support import env_for, fulfil
from tests.support.events import new_id, payload
from tests.support.http import OPS, client
from tests.support.infra import Infra
from tests.support.kafka import TopicTail

COD = PaymentMethod.CASH_ON_DELIVERY


async def cod_shipped(lg: Logistics, order_id: str, sku: str, quantity: int) -> dict[str, Any]:
    """A cash-on-delivery order of `quantity` units placed: it ships unpaid at once."""
    await lg.send(placed([(sku, quantity)], method=COD), order_id)
    [shipped] = await lg.tail.wait_for(of(order_id, "ShipmentShipped"))
    return payload(shipped)


async def silence_watch(runtime: Runtime, shipment_id: str) -> str:
    async with runtime.db.acquire() as conn:
        state = await conn.fetchval(
            "SELECT state FROM timers WHERE kind = 'checkpoint_silence' AND key = $1",
            shipment_id,
        )
    return str(state)


async def test_a_refused_parcel_is_told_once_and_back_at_the_shop_its_goods_are_on_the_shelf(
    lg: Logistics, tail: TopicTail
) -> None:
    order_id = new_id("ord")
    async with lg.running() as runtime:
        sku = await lg.stocked(on_hand=5)
        ship = await cod_shipped(lg, order_id, sku, 2)
        courier, tracking = ship["courier"], ship["tracking_number"]
        sandbox = f"/sandbox/carriers/{courier}/parcels/{tracking}"
        async with client(runtime) as http:
            assert (await http.post(f"{sandbox}/advance")).status_code == 200  # picked up
            refused = await http.post(f"{sandbox}/refuse")
            assert refused.status_code == 200, refused.text
            assert refused.json()["webhook_status"] == 200
            # the courier reports its refusal again, then once more as a new step
            cp = refused.json()["checkpoint"]
            at = datetime.fromisoformat(cp["checkpoint_at"])
            again = await lg.post_checkpoint(courier, tracking, cp["checkpoint_id"], at, "refused")
            later = await lg.post_checkpoint(courier, tracking, "cp-refused-2", at, "refused")
            twice = await http.post(f"{sandbox}/refuse")
            [told] = await tail.wait_for(of(order_id, "ShipmentRefused"))
            away = await lg.stock(sku)
            watch = await silence_watch(runtime, ship["shipment_id"])

            on_its_way_back = await http.post(f"{sandbox}/advance")
            home = await http.post(f"{sandbox}/advance")
            [returned] = await tail.wait_for(of(order_id, "ShipmentReturnedToShop"))
            # the courier reports it back again; the sandbox has nothing after that
            home_again = datetime.now(UTC)
            repeat = await lg.post_checkpoint(
                courier, tracking, "cp-home-2", home_again, "returned_to_shop"
            )
            after = await http.post(f"{sandbox}/advance")
            view = (await http.get(f"/v1/orders/{order_id}/shipment", headers=OPS)).json()
        await tail.wait_for(of(order_id, "CheckpointReached"), count=4)  # the last step told
        level = await lg.settled_stock(sku)  # one more unit reserved after all of it

    assert again.json()["duplicate"] is True and later.json()["duplicate"] is False
    assert (twice.status_code, twice.json()["parcel_status"]) == (409, "returning")
    refusal = payload(told)
    assert refusal["reason"] == "refused" and refusal["shipment_id"] == ship["shipment_id"]
    assert refusal["city"] == "Hangzhou" and refusal["tracking_number"] == tracking
    assert away["on_hand"] == 3, "the parcel's units are away with it"
    assert watch == "cancelled", "no delay is told of a parcel going back"

    assert on_its_way_back.json()["checkpoint"]["status"] == "returned"
    assert home.json()["checkpoint"]["status"] == "returned_to_shop"
    assert repeat.status_code == 200
    assert (after.status_code, after.json()["error"]) == (409, "returned")
    back = payload(returned)
    assert back["restocked"] == [{"line_id": "l1", "sku": sku, "quantity": 2}]
    assert level["on_hand"] == 5 and level["available"] == 4, "restocked once, not twice"

    assert lg.told(order_id).count("ShipmentRefused") == 1
    assert lg.told(order_id).count("ShipmentReturnedToShop") == 1
    assert "ShipmentDelivered" not in lg.told(order_id)
    assert "ShipmentDelayed" not in lg.told(order_id)
    assert view["status"] == "returned" and view["returned_at"] is not None
    assert [c["status"] for c in view["checkpoints"]] == [
        "in_transit", "refused", "refused", "returned", "returned_to_shop", "returned_to_shop"
    ]  # fmt: skip


async def test_the_sandbox_courier_walks_a_refused_parcel_home_on_its_own(
    lg: Logistics, tail: TopicTail
) -> None:
    order_id = new_id("ord")
    # a step every 2 s: the customer refuses at the door before the courier's script
    # reaches the delivery even on a loaded machine (at 0.5 s it got there first, 2.7 s
    # after the parcel left, while the refusal was still on its way)
    async with lg.running(sandbox_auto_advance_seconds=2.0) as runtime:
        sku = await lg.stocked(on_hand=4)
        ship = await cod_shipped(lg, order_id, sku, 1)
        sandbox = f"/sandbox/carriers/{ship['courier']}/parcels/{ship['tracking_number']}"
        async with client(runtime) as http:
            refused = await http.post(f"{sandbox}/refuse")
        assert refused.status_code == 200, refused.text
        await tail.wait_for(of(order_id, "ShipmentReturnedToShop"), timeout=60)
        level = await lg.settled_stock(sku)
    assert "ShipmentDelivered" not in lg.told(order_id), "walked back, not to the door"
    assert level["on_hand"] == 4 and level["available"] == 3


async def test_the_warehouse_records_a_parcel_back_the_courier_never_reported(
    lg: Logistics, tail: TopicTail
) -> None:
    order_id = new_id("ord")
    async with lg.running(max_delivery_attempts=2) as runtime:
        sku = await lg.stocked(on_hand=5)
        ship = await cod_shipped(lg, order_id, sku, 2)
        courier, tracking, shipment = ship["courier"], ship["tracking_number"], ship["shipment_id"]
        received = f"/v1/ops/shipments/{shipment}/returned"
        async with client(runtime) as http:
            unknown = await http.post("/v1/ops/shipments/shp_nosuchparcel/returned", headers=OPS)
            anonymous = await http.post(received)
            too_soon = await http.post(received, headers=OPS)
            now = datetime.now(UTC)
            for attempt in ("cp-try-1", "cp-try-2"):  # the second is the last allowed
                tried = await lg.post_checkpoint(courier, tracking, attempt, now, "failed_attempt")
                assert tried.status_code == 200, tried.text
            [gave_up] = await tail.wait_for(of(order_id, "ShipmentRefused"))
            first = await http.post(received, headers=OPS)
            repeat = await http.post(received, headers=OPS)
            # the courier's own report of it comes after: on the timeline, nothing more
            late = await lg.post_checkpoint(courier, tracking, "cp-home", now, "returned_to_shop")
        [returned] = await tail.wait_for(of(order_id, "ShipmentReturnedToShop"))
        await tail.wait_for(of(order_id, "CheckpointReached"), count=2)
        level = await lg.settled_stock(sku)

    assert (unknown.status_code, unknown.json()["error"]) == (404, "unknown_shipment")
    assert anonymous.status_code == 401
    conflict = too_soon.json()
    assert too_soon.status_code == 409 and conflict["error"] == "not_returning"
    assert conflict["parcel_status"] == "shipped" and "shipped" in conflict["message"]
    assert payload(gave_up)["reason"] == "undeliverable"
    assert first.status_code == 200 and _same(first, repeat)
    body = first.json()
    assert body["status"] == "returned" and body["shipment_id"] == shipment
    assert body["restocked"] == [{"line_id": "l1", "sku": sku, "quantity": 2}]
    assert payload(returned)["restocked"] == body["restocked"]
    assert late.status_code == 200 and late.json()["duplicate"] is False
    assert level["on_hand"] == 5, "the goods are back on the shelf once"
    assert lg.told(order_id).count("ShipmentReturnedToShop") == 1
    assert lg.told(order_id).count("ShipmentRefused") == 1


def _same(first: httpx.Response, repeat: httpx.Response) -> bool:
    return repeat.status_code == first.status_code and repeat.json() == first.json()


async def test_the_warehouse_says_it_with_fulfil_parcels_returned(
    infra: Infra, lg: Logistics, tail: TopicTail
) -> None:
    order_id = new_id("ord")
    async with lg.running() as runtime:
        sku = await lg.stocked(on_hand=4)
        ship = await cod_shipped(lg, order_id, sku, 3)
        courier, tracking, shipment = ship["courier"], ship["tracking_number"], ship["shipment_id"]
        env = env_for(infra, runtime, actor="wu")
        early = await fulfil(env, "parcels", "returned", shipment)
        refused = await lg.post_checkpoint(courier, tracking, "cp-no", datetime.now(UTC), "refused")
        assert refused.status_code == 200, refused.text
        await tail.wait_for(of(order_id, "ShipmentRefused"))
        said = await fulfil(env, "parcels", "returned", shipment)
        again = await fulfil(env, "parcels", "returned", shipment, "--json")
        bad = await fulfil(env, "parcels", "returned", "shp/../x")
        await tail.wait_for(of(order_id, "ShipmentReturnedToShop"))
        level = await lg.settled_stock(sku)

    assert early.code != 0 and "(HTTP 409)" in early.err, "a parcel on its way is not back"
    assert said.code == 0, said.err
    assert f"{shipment} back at the shop (order {order_id}): restocked {sku} x3" in said.out
    assert again.code == 0 and again.json()["restocked"][0]["quantity"] == 3
    assert bad.code != 0 and "not a shipment id" in bad.err
    assert level["on_hand"] == 4, "restocked once, however often it is said"
    assert lg.told(order_id).count("ShipmentReturnedToShop") == 1
