"""A shop with postage, a coupon and a choice of courier, through the public edges only:
operations issue the coupon, the customer places and pays the discounted order with
postage, returns one item and gets back exactly what that item cost after its share of
the discount; a customer who pays for SF Express gets it, or, where SF does not deliver,
another courier, a message saying why and the surcharge back."""

from __future__ import annotations

import random
import uuid
from typing import Any

from deploy.demo.shop import Shop, order_body
from tests.e2e.journeys import Driver, poll

SYSTEM_ENV = {
    "ORDER_SHIPPING_FEE": "800",
    "ORDER_FREE_SHIPPING_FROM": "1000000",
    "ORDER_COURIER_OPTIONS": '{"sf": 1500}',
    "LOGISTICS_COURIER_EXCLUDED_REGIONS": '{"sf": ["Xinjiang"]}',
}
TEA = {"sku": "TEA-OOLONG-250", "name": "Oolong tea", "quantity": 3, "unit_price": 3_333}
CUP = {
    "sku": "CUP-WHITE",
    "name": "Tea cup",
    "variant": "white",
    "quantity": 1,
    "unit_price": 5_001,
}


async def test_coupon_postage_and_a_partial_refund_exact_to_the_fen(shop: Shop) -> None:
    d = Driver(shop)
    ops = {"Authorization": f"Bearer {shop.edges.ops_key}"}
    for item in (TEA, CUP):
        await shop.put_stock(item["sku"], 1_000, threshold=0)
    code = f"E2E{uuid.uuid4().hex[:8].upper()}"
    coupon = {
        "code": code,
        "kind": "fixed",
        "value": 1_000,
        "currency": "CNY",
        "min_spend": 10_000,
        "usage_limit": 5,
    }
    issued = await shop.client.post(f"{shop.edges.order}/ops/coupons", json=coupon, headers=ops)
    assert issued.status_code == 201, issued.text

    body = order_body(random.Random(20261202), "wallet") | {"items": [TEA, CUP]}
    body["coupon_code"] = code
    placed = await shop.place_order(body)
    order_id = placed["order_id"]
    totals = placed["totals"]
    # goods 3 x 3333 + 5001 = 15000; 1000 off shared 667 / 333; postage 800
    assert totals["goods"]["amount"] == 15_000 and totals["discount"]["amount"] == 1_000
    assert totals["shipping_fee"]["amount"] == 800 and totals["total"]["amount"] == 14_800
    assert [line["discount"] for line in placed["items"]] == [667, 333]

    await d.pay(order_id)
    paid = await d.until(order_id, lambda o: o["totals"]["paid"]["amount"] > 0, "paid")
    assert paid["totals"]["paid"]["amount"] == 14_800
    await d.deliver(order_id)

    request = await shop.request_refund(
        order_id, "changed_mind", [{"line_id": "l1", "quantity": 1}]
    )
    assert request["amount"]["amount"] == 3_333 - 222  # one tea less a third of 667, floored
    assert request["return_shipping_paid_by"] == "customer"
    await shop.ship_return(request["id"], "sf", f"SFR{uuid.uuid4().hex[:8]}")
    await shop.return_received(request["id"])

    async def refunded() -> dict[str, Any] | None:
        payment = await d.payment(order_id)
        return payment if payment["net"] == 14_800 - 3_111 else None

    payment = await poll(refunded, f"{order_id} refund of 3111 paid")
    entries = payment["ledger"]
    assert [e["amount"] for e in entries if e["kind"] == "refund"] == [3_111]
    order = await d.until(order_id, lambda o: o["totals"]["refunded"]["amount"] > 0, "refunded")
    assert order["totals"]["refunded"]["amount"] == 3_111
    assert order["status"] == "partially_refunded"

    async def confirmation() -> list[dict[str, Any]] | None:
        sent = [m for m in await d.messages(order_id) if m["template"] == "order_confirmation"]
        return sent if len(sent) == 2 and all(m["status"] == "sent" for m in sent) else None

    await poll(confirmation, f"{order_id} confirmation sent by email and SMS")


async def test_a_chosen_courier_is_honoured_or_explained_and_its_surcharge_refunded(
    shop: Shop,
) -> None:
    d = Driver(shop)
    await shop.put_stock(CUP["sku"], 1_000, threshold=0)
    rng = random.Random(20261203)
    near = order_body(rng, "wallet") | {"items": [CUP], "courier": "sf"}
    near["address"] |= {"city": "Hangzhou", "region": "Zhejiang", "country": "CN"}
    far = order_body(rng, "wallet") | {"items": [CUP], "courier": "sf"}
    far["address"] |= {"city": "Urumqi", "region": "Xinjiang", "country": "CN"}
    unknown = await shop.client.post(
        f"{shop.edges.order}/v1/orders",
        json=near | {"courier": "pigeon"},
        headers={"Authorization": f"Bearer {shop.edges.shop_key}"},
    )
    assert unknown.status_code == 422, unknown.text
    assert unknown.json()["fields"][0]["field"] == "courier"

    honoured, explained = await shop.place_order(near), await shop.place_order(far)
    for placed in (honoured, explained):
        totals = placed["totals"]
        assert totals["courier"] == "sf" and totals["courier_fee"]["amount"] == 1_500
        assert totals["shipping_fee"]["amount"] == 800 + 1_500
        assert totals["total"]["amount"] == 5_001 + 2_300
        await d.pay(placed["order_id"])
    sf, other = await d.shipped(honoured["order_id"]), await d.shipped(explained["order_id"])
    assert sf["shipment"]["courier"] == "sf"
    assert other["shipment"]["courier"] != "sf"
    assert other["shipment"]["requested_courier"] == "sf"

    async def fee_back() -> dict[str, Any] | None:
        payment = await d.payment(explained["order_id"])
        return payment if payment["net"] == 5_001 + 800 else None

    payment = await poll(fee_back, "the surcharge of the courier not honoured comes back")
    assert [e["amount"] for e in payment["ledger"] if e["kind"] == "refund"] == [1_500]
    kept = await d.payment(honoured["order_id"])
    assert kept["net"] == 5_001 + 2_300, "an honoured choice keeps its surcharge"

    async def told(order_id: str) -> set[str] | None:
        sent = {(m["template"], m["channel"]) for m in await d.messages(order_id)
                if m["status"] == "sent"}  # fmt: skip
        return sent if ("shipped", "email") in sent and ("shipped", "sms") in sent else None

    assert {("courier_changed", "email"), ("courier_changed", "sms")} <= await poll(
        lambda: told(explained["order_id"]), "courier_changed sent"
    )
    assert not any(t == "courier_changed" for t, _ in await poll(
        lambda: told(honoured["order_id"]), "shipped told"
    ))  # fmt: skip
