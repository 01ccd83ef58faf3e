"""A delay operations announce and a stopped shipment's goods, through the public edges
only, with the warehouse's steps on: a sales peak announced for one region reaches its
waiting customers once, by email and SMS in their language, moves the date their order
shows and the warehouse sees, and spares the other regions; a customer who pays while it
is in force is told too. A paid order cancelled after its goods were picked is refunded
and its goods wait on the warehouse's put-back list until they are back on the shelf."""

from __future__ import annotations

import random
import uuid
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from deploy.demo.shop import Shop, ShopError, order_body
from tests.e2e.journeys import Driver, poll

SYSTEM_ENV = {"LOGISTICS_WAREHOUSE_STEPS": "true"}
TEA: dict[str, Any] = {
    "sku": "E2E-DELAY-TEA",
    "name": "Longjing tea",
    "variant": "250 g",
    "price": 12_800,
}
VASE: dict[str, Any] = {
    "sku": "E2E-PUTBACK-VASE",
    "name": "Celadon vase",
    "variant": "S",
    "price": 39_900,
}
HANGZHOU = {"city": "Hangzhou", "region": "Zhejiang", "country": "CN"}
SHENZHEN = {"city": "Shenzhen", "region": "Guangdong", "country": "CN"}
SHANGHAI = {"city": "Shanghai", "region": "Shanghai", "country": "CN"}


def _body(
    rng: random.Random, item: dict[str, Any], where: dict[str, str], locale: str
) -> dict[str, Any]:
    body = order_body(rng, "wallet", catalogue=(item,), lines=1, quantity=1)
    body["address"] |= where
    body["locale"] = locale
    body["contact"]["email"] = f"delay-{uuid.uuid4().hex[:10]}@example.com"
    body.pop("gift_message", None)
    return body


async def _waiting(shop: Shop, order_id: str) -> dict[str, Any]:
    """The order's shipment on the warehouse's pick list, once it is there."""

    async def probe() -> dict[str, Any] | None:
        entries = (await shop.pick_list(limit=500))["pick_list"]
        return next((e for e in entries if e["order_id"] == order_id), None)

    return dict(await poll(probe, f"{order_id} on the pick list"))


async def _paid_and_waiting(
    d: Driver, body: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Places and pays the order: the order once it shows the day the warehouse now expects
    to ship it, and its pick-list entry."""
    order_id = (await d.shop.place_order(body))["order_id"]
    await d.pay(order_id)
    entry = await _waiting(d.shop, order_id)
    order = await d.until(
        order_id,
        lambda o: o["status"] == "paid" and o["promised_ship_date"] == entry["expected_ship_date"],
        "paid, with the warehouse's date",
    )
    return order, entry


def _sent(messages: list[dict[str, Any]], template: str) -> list[dict[str, Any]]:
    return [m for m in messages if m["template"] == template and m["status"] == "sent"]


async def _told(d: Driver, order_id: str, template: str) -> list[dict[str, Any]]:
    """The order's `template` messages, once sent by both email and SMS."""

    async def probe() -> list[dict[str, Any]] | None:
        sent = _sent(await d.messages(order_id), template)
        return sent if {m["channel"] for m in sent} == {"email", "sms"} else None

    return list(await poll(probe, f"{order_id} {template} sent by email and SMS", timeout=60))


async def _inbox(system: dict[str, Any], shop: Shop, channel: str, *words: str) -> list[Any]:
    """What customers received by `channel` (the notify sinks) that says all of `words`."""
    url = system["sinks"]["messages_url"]

    async def probe() -> list[dict[str, Any]] | None:
        found = (await shop.client.get(url, params={"channel": channel})).json()["messages"]
        hits = [m for m in found if all(w in f"{m.get('subject')} {m.get('text')}" for w in words)]
        return hits or None

    return list(await poll(probe, f"{channel} saying {words}", timeout=60))


def _announced(order: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in order["timeline"] if e["kind"] == "delay_announced"]


async def test_a_peak_in_one_region_tells_its_waiting_customers_once_in_their_language(
    shop: Shop, system: dict[str, Any]
) -> None:
    d = Driver(shop)
    await shop.put_stock(TEA["sku"], 100, threshold=0)
    rng = random.Random(20261204)
    zhejiang, zj_waiting = await _paid_and_waiting(d, _body(rng, TEA, HANGZHOU, "zh-TW"))
    guangdong, gd_waiting = await _paid_and_waiting(d, _body(rng, TEA, SHENZHEN, "zh-CN"))
    zj_id, gd_id = zhejiang["order_id"], guangdong["order_id"]
    promised = date.fromisoformat(zhejiang["promised_ship_date"])

    today = datetime.now(ZoneInfo(zhejiang["time_zone"])).date()
    delay_id = f"peak-{uuid.uuid4().hex[:8]}"
    peak = {
        "cause": "peak", "expected_from": today.isoformat(),
        "expected_to": (today + timedelta(days=14)).isoformat(), "days": 2, "region": "Zhejiang",
    }  # fmt: skip
    made = await shop.announce_delay(delay_id, peak)
    assert made["covered"] == 1, "only the parcel waiting for Zhejiang is covered"

    async def reached() -> dict[str, Any] | None:
        standing = await shop.delay(delay_id)
        return standing if standing["told"] == 1 else None

    await poll(reached, f"{delay_id} told to the one customer it covers")

    # the Zhejiang customer is told once by email and once by SMS, in Traditional Chinese
    told = await _told(d, zj_id, "delay_announced")
    assert sorted(m["channel"] for m in told) == ["email", "sms"]
    assert {m["locale"] for m in told} == {"zh-TW"}
    [email] = [m for m in told if m["channel"] == "email"]
    assert "出貨" in str(email["subject"]), email["subject"]  # "now leaves on ..."
    [sms] = await _inbox(system, shop, "sms", zj_id, "促銷高峰期")  # why, in its words
    assert "出貨" in sms["text"], sms["text"]

    # the order shows why and the new ship date; the warehouse sees that date too
    order = await d.until(zj_id, lambda o: bool(_announced(o)), "the delay on the timeline")
    [entry] = _announced(order)
    details = entry["details"]
    assert details["cause"] == "peak" and details["stage"] == "waiting"
    assert details["shipment_id"] == zj_waiting["shipment_id"]
    assert details["previous_date"] == promised.isoformat()
    later = date.fromisoformat(details["new_expected_date"])
    assert (later - promised).days >= 2, "two working days later at least"
    assert order["promised_ship_date"] == later.isoformat()
    assert entry["text"], "the entry reads as a sentence"
    assert (await _waiting(shop, zj_id))["expected_ship_date"] == later.isoformat()

    # the same announcement again is answered the same and tells no one again
    again = await shop.client.put(
        f"{shop.edges.logistics}/v1/ops/delays/{delay_id}",
        json=peak,
        headers={"Authorization": f"Bearer {shop.edges.ops_key}"},
    )
    assert again.status_code == 200, again.text
    assert again.json()["covered"] == 1

    # a Zhejiang customer who pays while it is in force is told as the parcel opens
    late, _ = await _paid_and_waiting(d, _body(rng, TEA, HANGZHOU, "en"))
    [late_email] = [m for m in await _told(d, late["order_id"], "delay_announced")
                    if m["channel"] == "email"]  # fmt: skip
    assert "leaves our warehouse" in str(late_email["subject"]), late_email["subject"]
    assert (await shop.delay(delay_id))["told"] == 2

    # the warehouse ships the delayed parcel: on its way, it is not told of the peak again
    await shop.warehouse_step(zj_waiting["shipment_id"], "picked")
    await shop.warehouse_step(
        zj_waiting["shipment_id"], "packed", {"weight_grams": 400, "parcels": 1}
    )
    await shop.warehouse_step(zj_waiting["shipment_id"], "handed-over")
    shipped = await d.shipped(zj_id)
    assert shipped["shipment"]["shipment_id"] == zj_waiting["shipment_id"]
    await _told(d, zj_id, "shipped")
    messages = await d.messages(zj_id)
    assert sorted(m["channel"] for m in _sent(messages, "delay_announced")) == ["email", "sms"]
    assert len(_announced(await d.order(zj_id))) == 1
    for channel in ("sms", "email"):  # what reached the customer: one of each
        assert len(await _inbox(system, shop, channel, zj_id, "促銷高峰期")) == 1, channel

    # Guangdong was never covered: no message, no entry, the date it was promised
    assert not [m for m in await d.messages(gd_id) if m["template"] == "delay_announced"]
    other = await d.order(gd_id)
    assert not _announced(other)
    assert other["promised_ship_date"] == guangdong["promised_ship_date"]
    assert (await _waiting(shop, gd_id))["expected_ship_date"] == gd_waiting["expected_ship_date"]


async def _stock(shop: Shop, sku: str) -> dict[str, Any]:
    response = await shop.client.get(
        f"{shop.edges.logistics}/v1/stock/{sku}",
        headers={"Authorization": f"Bearer {shop.edges.ops_key}"},
    )
    response.raise_for_status()
    return dict(response.json())


async def test_goods_picked_for_an_order_refunded_before_shipping_go_back_on_the_shelf(
    shop: Shop,
) -> None:
    d = Driver(shop)
    await shop.put_stock(VASE["sku"], 10, threshold=0)
    order, waiting = await _paid_and_waiting(
        d, _body(random.Random(20261205), VASE, SHANGHAI, "zh-CN")
    )
    order_id, shipment_id = order["order_id"], waiting["shipment_id"]
    before = (await shop.pick_list())["to_put_back"]
    picked = await shop.warehouse_step(shipment_id, "picked")
    assert picked["stage"] == "picked"

    # the customer cancels: the money comes back, nothing ships
    await shop.cancel(order_id)
    await d.status(order_id, "refunded")

    async def refunded() -> dict[str, Any] | None:
        payment = await d.payment(order_id)
        return payment if payment["captured"] and payment["net"] == 0 else None

    await poll(refunded, f"{order_id} paid back in full")
    await _told(d, order_id, "refund_paid")
    try:
        await shop.warehouse_step(shipment_id, "packed", {"weight_grams": 900, "parcels": 1})
    except ShopError as stopped:
        assert stopped.status == 409 and stopped.code == "not_in_warehouse", stopped
    else:
        raise AssertionError("a stopped shipment is not packed")

    # its goods are off the shelf: the warehouse is asked to put them back
    async def listed() -> list[dict[str, Any]] | None:
        found = [e for e in await shop.put_back_list() if e["shipment_id"] == shipment_id]
        return found or None

    [back] = await poll(listed, f"{shipment_id} on the put-back list")
    assert back["order_id"] == order_id and back["stage"] == "picked"
    assert back["picked_at"] == picked["picked_at"] and back["packed_at"] is None
    assert [(x["sku"], x["quantity"]) for x in back["lines"]] == [(VASE["sku"], 1)]
    listing = await shop.pick_list(limit=500)
    assert listing["to_put_back"] == before + 1
    assert shipment_id not in {e["shipment_id"] for e in listing["pick_list"]}
    stock = await _stock(shop, VASE["sku"])
    assert (stock["on_hand"], stock["reserved"]) == (10, 0), "the units are for sale again"

    # put back: off the list, and saying it again changes nothing
    done = await shop.put_back(shipment_id)
    assert done["put_back_at"] and done["stage"] == "picked" and done["status"] == "cancelled"
    assert shipment_id not in {e["shipment_id"] for e in await shop.put_back_list()}
    assert (await shop.pick_list())["to_put_back"] == before
    assert (await shop.put_back(shipment_id))["put_back_at"] == done["put_back_at"]
    assert (await d.order(order_id))["status"] == "refunded"
