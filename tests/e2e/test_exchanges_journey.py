"""Exchanges through the public edges only: a customer who received a T-shirt swaps it for
another size. Asked for another product, the exchange is refused; for a cheaper size, the
shirt is sent back, the replacement leaves once it is received and the difference is
refunded to the fen; for a dearer size with a quality problem, the customer pays the
difference through the link in the message and the replacement leaves at once. The
order's own status never moves back, each message goes out once per channel in the
customer's language, and the stock adds up."""

from __future__ import annotations

import random
import re
import uuid
from typing import Any

from deploy.demo.exchanges import (
    exchange,
    exchange_return_received,
    request_exchange,
    set_price,
    ship_exchange_return,
)
from deploy.demo.shop import Shop, ShopError, order_body
from tests.e2e.journeys import TRACKING_STEPS, Driver, poll

SHIRT: dict[str, Any] = {"sku": "E2E-EX-TEE-M", "name": "Cotton T-shirt", "variant": "White / M",
         "price": 7_900}  # fmt: skip
SMALL: dict[str, Any] = {"sku": "E2E-EX-TEE-S", "name": "Cotton T-shirt", "variant": "White / S",
         "price": 6_900}  # fmt: skip
LARGE: dict[str, Any] = {"sku": "E2E-EX-TEE-XL", "name": "Cotton T-shirt", "variant": "White / XL",
         "price": 9_900}  # fmt: skip
MUG: dict[str, Any] = {
    "sku": "E2E-EX-MUG",
    "name": "Ceramic mug",
    "variant": "350 ml",
    "price": 4_500,
}


async def _delivered(d: Driver, seed: int, locale: str) -> dict[str, Any]:
    body = order_body(random.Random(seed), "wallet", catalogue=(SHIRT,), lines=1, quantity=1)
    body["locale"] = locale
    body["contact"]["email"] = f"exchange-{uuid.uuid4().hex[:10]}@example.com"
    order_id = str((await d.shop.place_order(body))["order_id"])
    await d.pay(order_id)
    return await d.deliver(order_id)


async def _until(shop: Shop, exchange_id: str, *statuses: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        found = await exchange(shop, exchange_id)
        return found if found["status"] in statuses else None

    return dict(await poll(probe, f"exchange {exchange_id} {statuses}", timeout=60))


def _sent(messages: list[dict[str, Any]], template: str) -> list[dict[str, Any]]:
    return [m for m in messages if m["template"] == template and m["status"] == "sent"]


async def _told(d: Driver, order_id: str, *templates: str) -> list[dict[str, Any]]:
    async def all_told() -> list[dict[str, Any]] | None:
        messages = await d.messages(order_id)
        ready = all(len(_sent(messages, t)) >= 2 for t in templates)
        return messages if ready else None

    return list(await poll(all_told, f"{order_id}: {templates} told", timeout=60))


async def _sms_link(shop: Shop, system: dict[str, Any], order_id: str) -> str:
    """The pay link in the exchange's payment SMS, as the customer reads it."""
    url = system["sinks"]["messages_url"]

    async def probe() -> str | None:
        found = (await shop.client.get(url, params={"channel": "sms"})).json()["messages"]
        for m in found:
            text = str(m.get("text") or "")
            if order_id in text and (link := re.search(r"https?://\S+/checkout/\S+", text)):
                return link.group(0).rstrip(".,;")
        return None

    return str(await poll(probe, f"{order_id}: the exchange's pay link by SMS", timeout=60))


async def _available(shop: Shop, sku: str) -> int:
    return int((await shop.stock(sku))["available"])


async def test_a_shirt_is_exchanged_for_another_size_and_the_money_adds_up(
    shop: Shop, system: dict[str, Any]
) -> None:
    d = Driver(shop)
    for item in (SHIRT, SMALL, LARGE, MUG):
        await shop.put_stock(item["sku"], 20, threshold=0, name=item["name"],
                             variant=item["variant"])  # fmt: skip
    for item in (SMALL, LARGE):
        await set_price(shop, str(item["sku"]), int(item["price"]), "CNY")

    a = await _delivered(d, 11, "en")
    a_id, line = a["order_id"], "l1"
    status_before = a["status"]

    # the line's own SKU is no exchange: refused at once, naming the field
    response = await shop.client.post(
        f"{shop.edges.returns}/v1/orders/{a_id}/exchanges",
        headers=shop.shop_headers | {"Idempotency-Key": uuid.uuid4().hex},
        json={"line_id": line, "quantity": 1, "replacement_sku": SHIRT["sku"],
              "reason": "changed_mind"},
    )  # fmt: skip
    problem = response.json()
    assert (response.status_code, problem["error"], problem["field"]) == (
        422, "same_variant", "replacement_sku",
    )  # fmt: skip
    try:
        await request_exchange(shop, a_id, line, SMALL["sku"], "changed_mind", quantity=2)
        raise AssertionError("two of a line of one")
    except ShopError as refused:
        assert (refused.status, refused.code) == (422, "over_quantity")

    # another product: logistics refuses it, nothing is held
    mug = await request_exchange(shop, a_id, line, MUG["sku"], "changed_mind")
    refused_exchange = await _until(shop, mug["id"], "refused", "accepted")
    assert (refused_exchange["status"], refused_exchange["outcome_reason"]) == (
        "refused", "not_same_product",
    )  # fmt: skip
    assert await _available(shop, MUG["sku"]) == 20

    # a smaller size, 10.00 cheaper: held at once, sent when the shirt is back, refunded
    small_before = await _available(shop, SMALL["sku"])
    asked = await request_exchange(shop, a_id, line, SMALL["sku"], "changed_mind")
    accepted = await _until(shop, asked["id"], "accepted")
    assert accepted["settlement"] == "refund"
    assert accepted["difference"] == {"amount": 1_000, "currency": "CNY"}
    assert (accepted["ships"], accepted["return_shipping_paid_by"]) == ("on_return", "customer")
    assert await _available(shop, SMALL["sku"]) == small_before - 1, "held for the exchange"
    try:
        await request_exchange(shop, a_id, line, LARGE["sku"], "changed_mind")
        raise AssertionError("a second exchange on a line with one open")
    except ShopError as refused:
        assert (refused.status, refused.code) == (409, "line_has_open_request")

    shirt_before = await _available(shop, SHIRT["sku"])
    await ship_exchange_return(shop, asked["id"], "sf", f"SF{uuid.uuid4().int % 10**12:012d}")
    assert (await exchange(shop, asked["id"]))["status"] == "accepted", "waits for the shirt"
    await exchange_return_received(shop, asked["id"])
    shipped = await _until(shop, asked["id"], "shipped")
    assert shipped["shipment"]["tracking_number"]
    assert await _available(shop, SHIRT["sku"]) == shirt_before + 1, "the shirt is back"

    async def refunded() -> dict[str, Any] | None:
        payment = await d.payment(a_id)
        return payment if payment["refunded"] == 1_000 else None

    await poll(refunded, f"{a_id}: the 10.00 difference refunded", timeout=60)
    await d.status(a_id, "partially_refunded")
    assert status_before in ("delivered", "completed")

    # the courier brings the replacement: the exchange ends, the order does not move
    parcel = shipped["shipment"]
    for _ in range(TRACKING_STEPS):
        if (await exchange(shop, asked["id"]))["status"] == "delivered":
            break
        try:
            await shop.advance_parcel(parcel["courier"], parcel["tracking_number"])
        except ShopError as refused:
            if refused.status != 409:  # 409: delivered already
                raise
    delivered = await _until(shop, asked["id"], "delivered")
    assert delivered["delivered_at"]
    assert (await d.order(a_id))["status"] == "partially_refunded", "the order stays as it was"
    told = ("exchange_accepted", "exchange_refused", "exchange_shipped", "exchange_delivered")
    messages = await _told(d, a_id, *told)
    assert not _sent(messages, "delivered")[2:], "the order's own delivery told once only"
    for template in told:
        assert len(_sent(messages, template)) == 2, f"{template}: once per channel"
    assert {m["locale"] for m in messages if m["template"].startswith("exchange_")} == {"en"}

    # a larger size for a damaged shirt, 20.00 dearer: paid through the SMS's link,
    # then it leaves at once, before the damaged shirt comes back
    b = await _delivered(d, 12, "zh-CN")
    b_id = b["order_id"]
    dearer = await request_exchange(shop, b_id, line, LARGE["sku"], "damaged")
    accepted = await _until(shop, dearer["id"], "accepted")
    assert accepted["settlement"] == "charge"
    assert accepted["difference"] == {"amount": 2_000, "currency": "CNY"}
    assert (accepted["ships"], accepted["return_shipping_paid_by"]) == ("at_once", "shop")
    assert accepted["pay_by"]
    await shop.complete_checkout(await _sms_link(shop, system, b_id), repeat=2)
    shipped = await _until(shop, dearer["id"], "shipped")
    assert shipped["paid_at"] and shipped["return_received_at"] is None
    payment = await d.payment(b_id)
    assert [x["status"] for x in payment["exchanges"]] == ["succeeded"]
    assert payment["captured"] - payment["amount"]["amount"] == 2_000, "charged once"
    assert (await d.order(b_id))["status"] in ("delivered", "completed")
    messages = await _told(d, b_id, "exchange_accepted", "exchange_payment_requested",
                           "exchange_shipped")  # fmt: skip
    assert {m["locale"] for m in messages if m["template"].startswith("exchange_")} == {"zh-CN"}
    for template in ("exchange_accepted", "exchange_payment_requested", "exchange_shipped"):
        assert len(_sent(messages, template)) == 2, f"{template}: once per channel"
