"""Orders placed when not all of their goods are in stock, through the public edges only.
None is cancelled: the first customer ships what is there and is refunded the rest, to the
fen; the next two wait for the restock and are served first come, first served as
operations receive goods; each is told once per channel, in their language; and the stock
adds up."""

from __future__ import annotations

import random
import uuid
from datetime import date, timedelta
from typing import Any

import pytest

from deploy.demo.shop import Shop, ShopError, order_body
from tests.e2e.journeys import Driver, poll

MUG: dict[str, Any] = {"sku": "E2E-BO-MUG", "name": "Ceramic mug", "variant": "350 ml",
                       "price": 4_500}  # fmt: skip
TEA: dict[str, Any] = {"sku": "E2E-BO-TEA", "name": "Oolong tea", "variant": "250 g",
                       "price": 8_800}  # fmt: skip
BACKORDER = ("stock_backordered", "backorder_")  # the backorder messages
EXPECTED = (date.today() + timedelta(days=5)).isoformat()


async def _place(shop: Shop, seed: int, mugs: int, locale: str) -> str:
    body = order_body(random.Random(seed), "wallet", catalogue=(MUG,), lines=1, quantity=mugs)
    body["items"] += order_body(random.Random(seed + 1), "wallet", catalogue=(TEA,), lines=1)[
        "items"
    ]
    body["items"][1]["quantity"] = 1
    body["locale"] = locale
    body["contact"]["email"] = f"backorder-{uuid.uuid4().hex[:10]}@example.com"
    return str((await shop.place_order(body))["order_id"])


def _sent(messages: list[dict[str, Any]], template: str) -> list[dict[str, Any]]:
    return [m for m in messages if m["template"] == template and m["status"] == "sent"]


async def _told(d: Driver, order_id: str, *templates: str) -> list[dict[str, Any]]:
    """The order's messages once each template went out on both channels."""

    async def all_told() -> list[dict[str, Any]] | None:
        messages = await d.messages(order_id)
        ready = all(len(_sent(messages, t)) >= 2 for t in templates)
        return messages if ready else None

    return await poll(all_told, f"{order_id}: {', '.join(templates)} told", timeout=60)


def _goods(order: dict[str, Any]) -> list[tuple[str, int]]:
    return sorted(
        (line["sku"], line["quantity"])
        for parcel in order.get("parcels") or [order["shipment"]]
        for line in parcel["lines"]
    )


async def test_short_orders_ship_what_is_there_or_wait_and_are_served_first_come(
    shop: Shop,
) -> None:
    d = Driver(shop)
    await shop.put_stock(MUG["sku"], 1, threshold=0)
    await shop.put_stock(TEA["sku"], 50, threshold=0)
    await shop.expect_restock(MUG["sku"], EXPECTED)

    # A: two mugs, one in stock. B: two mugs, none left. C: one mug, none left.
    a = await _place(shop, 1, mugs=2, locale="en")
    backordered = await d.until(a, lambda o: bool(o.get("backorder")), "A backordered")
    b = await _place(shop, 3, mugs=2, locale="zh-CN")
    c = await _place(shop, 5, mugs=1, locale="zh-TW")
    for order_id in (a, b, c):
        await d.pay(order_id)
    for order_id in (b, c):
        await d.until(order_id, lambda o: bool(o.get("backorder")), f"{order_id} backordered")

    backorder = backordered["backorder"]
    assert backorder["state"] == "open"
    assert backorder["restock_expected"] == EXPECTED
    assert [(x["sku"], x["quantity"], x["held"]) for x in backorder["lines"]] == [
        (MUG["sku"], 1, 1)
    ]
    assert backordered["status"] not in ("cancelled", "closed")

    # A ships what is there; the same answer again is the same, another is refused
    await shop.backorder_choice(a, "ship_available")
    await shop.backorder_choice(a, "ship_available")
    with pytest.raises(ShopError) as refused:
        await shop.backorder_choice(a, "wait")
    assert refused.value.status == 409
    with pytest.raises(ShopError) as invalid:
        await shop.backorder_choice(b, "ship_everything")
    assert invalid.value.status == 422 and "choice" in str(invalid.value)

    # A is refunded the dropped mug as soon as it is paid: its status then shows the
    # refund (partially_refunded), and its timeline the parcel that left
    shipped_a = await d.until(a, _left, "A shipped")
    assert _goods(shipped_a) == [(MUG["sku"], 1), (TEA["sku"], 1)]
    refunded = await d.until(
        a, lambda o: o["totals"]["refunded"]["amount"] == MUG["price"], "A refunded one mug"
    )
    assert refunded["backorder"]["state"] == "dropped"
    assert refunded["status"] == "partially_refunded"

    # B and C wait; two mugs come in: B, first in the queue, gets both and ships whole
    await shop.backorder_choice(b, "wait")
    await shop.backorder_choice(c, "wait")
    await d.until(c, lambda o: o["backorder"]["state"] == "waiting", "C waiting")
    queue = await shop.backorders(MUG["sku"])
    assert [entry["order_id"] for entry in queue["backorders"]] == [b, c]

    await shop.receive_stock(MUG["sku"], 2)
    shipped_b = await d.until(b, lambda o: o["status"] == "shipped", "B shipped whole")
    assert _goods(shipped_b) == [(MUG["sku"], 2), (TEA["sku"], 1)]
    assert shipped_b["backorder"]["state"] == "filled"
    waiting_c = await d.order(c)
    assert waiting_c["backorder"]["state"] == "waiting", "C came after B"

    await shop.receive_stock(MUG["sku"], 1)
    shipped_c = await d.until(c, lambda o: o["status"] == "shipped", "C shipped")
    assert _goods(shipped_c) == [(MUG["sku"], 1), (TEA["sku"], 1)]
    assert shipped_b["totals"]["refunded"]["amount"] == 0

    # each told once per channel, in their language
    told_a = await _told(d, a, "stock_backordered", "backorder_dropped", "shipped")
    told_b = await _told(d, b, "stock_backordered", "backorder_waiting", "backorder_filled")
    told_c = await _told(d, c, "stock_backordered", "backorder_waiting", "backorder_filled")
    for messages, locale in ((told_a, "en"), (told_b, "zh-CN"), (told_c, "zh-TW")):
        backorder_messages = [m for m in messages if m["template"].startswith(BACKORDER)]
        assert {m["locale"] for m in backorder_messages} == {locale}
        for template in {m["template"] for m in backorder_messages}:
            channels = sorted(m["channel"] for m in _sent(messages, template))
            assert channels == ["email", "sms"], f"{template}: once per channel"

    # the stock adds up: 1 + 2 + 1 mugs came in and all four left; nothing held
    mug = await poll(lambda: _settled(shop, MUG["sku"]), "mug stock settled")
    assert (mug["on_hand"], mug["reserved"]) == (0, 0)
    tea = await shop.stock(TEA["sku"])
    assert tea["on_hand"] == 47
    assert (await shop.backorders(MUG["sku"]))["backorders"] == []


def _left(order: dict[str, Any]) -> bool:
    return any(entry["kind"] == "shipped" for entry in order["timeline"])


async def _settled(shop: Shop, sku: str) -> dict[str, Any] | None:
    stock = await shop.stock(sku)
    return stock if stock["reserved"] == 0 else None
