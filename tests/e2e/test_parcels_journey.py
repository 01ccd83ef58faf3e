"""An order whose goods are in two warehouses, through the public edges only: it leaves as
two parcels, each with its own goods, tracking number and checkpoints; the order is shipped
once the first leaves and delivered only once the second arrives too; the customer is told
of each parcel once, in their language, naming it "parcel 1 of 2"; each warehouse's stock
goes down by what its parcel took."""

from __future__ import annotations

import asyncio
import random
import uuid
from typing import Any

from deploy.demo.shop import Shop, ShopError, order_body
from tests.e2e.journeys import TRACKING_STEPS, Driver, poll

TEA: dict[str, Any] = {
    "sku": "E2E-PARCEL-TEA",
    "name": "Oolong tea",
    "variant": "250 g",
    "price": 8_800,
}
BOARD: dict[str, Any] = {
    "sku": "E2E-PARCEL-BOARD",
    "name": "Bamboo cutting board",
    "variant": "40 cm",
    "price": 8_900,
}


async def _walk_home(shop: Shop, parcel: dict[str, Any]) -> None:
    """The sandbox courier takes the parcel through its checkpoints to the door."""
    for _ in range(TRACKING_STEPS):
        try:
            await shop.advance_parcel(parcel["courier"], parcel["tracking_number"])
        except ShopError as done:
            if done.status != 409:  # 409: delivered already
                raise
            return
        await asyncio.sleep(0.2)


def _sent(messages: list[dict[str, Any]], template: str) -> list[dict[str, Any]]:
    return [m for m in messages if m["template"] == template and m["status"] == "sent"]


async def test_an_order_from_two_warehouses_is_two_parcels_delivered_when_both_are(
    shop: Shop, system: dict[str, Any]
) -> None:
    d = Driver(shop)
    await shop.put_stock(TEA["sku"], 40, threshold=0)
    await shop.put_stock(BOARD["sku"], 30, threshold=0, warehouse="north")
    body = order_body(random.Random(20261203), "wallet", catalogue=(TEA,), lines=1, quantity=1)
    body["items"] += order_body(random.Random(7), "wallet", catalogue=(BOARD,), lines=1)["items"]
    body["items"][1]["quantity"] = 2
    body["locale"] = "en"
    body["contact"]["email"] = f"parcels-{uuid.uuid4().hex[:10]}@example.com"
    order_id = (await shop.place_order(body))["order_id"]
    await d.pay(order_id)

    order = await d.until(
        order_id,
        lambda o: (
            len(o.get("parcels") or []) == 2 and all(p.get("tracking_number") for p in o["parcels"])
        ),
        "two parcels on their way",
    )
    assert order["status"] == "shipped"
    first, second = order["parcels"]
    assert [(p["number"], p["of"]) for p in (first, second)] == [(1, 2), (2, 2)]
    assert {p["warehouse"] for p in (first, second)} == {"main", "north"}
    goods = {
        p["warehouse"]: [(x["sku"], x["quantity"]) for x in p["lines"]] for p in (first, second)
    }
    assert goods == {"main": [(TEA["sku"], 1)], "north": [(BOARD["sku"], 2)]}
    assert first["tracking_number"] != second["tracking_number"]

    # the first parcel arrives: the order still waits for the second
    await _walk_home(shop, first)
    order = await d.until(
        order_id,
        lambda o: [p["status"] for p in o["parcels"]] == ["delivered", "shipped"],
        "parcel 1 delivered",
    )
    assert order["status"] == "shipped", "one parcel of two is not the order delivered"
    await _walk_home(shop, second)
    order = await d.status(order_id, "delivered", "completed")
    assert [p["status"] for p in order["parcels"]] == ["delivered", "delivered"]
    completed = await d.status(order_id, "completed")  # auto-confirmed once, after the last
    assert sum(e["kind"] == "completed" for e in completed["timeline"]) <= 1

    # each parcel told once per channel, naming which of the two it is
    async def both_told() -> list[dict[str, Any]] | None:
        messages = await d.messages(order_id)
        told = _sent(messages, "shipped") + _sent(messages, "delivered")
        return told if len(told) == 8 else None  # 2 parcels x 2 steps x email and SMS

    told = await poll(both_told, f"{order_id} shipped and delivered told per parcel", timeout=60)
    assert {m["locale"] for m in told} == {"en"}
    for template in ("shipped", "delivered"):
        channels = sorted(m["channel"] for m in _sent(told, template))
        assert channels == ["email", "email", "sms", "sms"], f"{template}: once per parcel"

    texts = await _inbox_texts(system, shop, order_id)
    assert any("parcel 1 of 2" in t for t in texts) and any("parcel 2 of 2" in t for t in texts)

    tea = await shop.stock(TEA["sku"])
    board = await shop.stock(BOARD["sku"])
    assert (tea["on_hand"], tea["reserved"]) == (39, 0)
    assert [(w["warehouse"], w["on_hand"]) for w in board["warehouses"]] == [("north", 28)]


async def _inbox_texts(system: dict[str, Any], shop: Shop, order_id: str) -> list[str]:
    """What the notify sinks received that names the order (emails and SMS)."""
    url = system["sinks"]["messages_url"]
    found = (await shop.client.get(url)).json()["messages"]
    texts = [f"{m.get('subject') or ''} {m.get('text') or ''}" for m in found]
    return [t for t in texts if order_id in t]
