"""A price difference refunded through the public edges only: the shop lowers a SKU's price
after a customer paid for two; the customer asks and is refunded the difference at once
(the rule: the drop came after the payment, within the protection time), to the fen,
once; asking again for the same drop refunds nothing more; a further drop refunds only the
extra; and the customer is told in their language, once per channel."""

from __future__ import annotations

import random
import uuid
from typing import Any

from deploy.demo.exchanges import set_price
from deploy.demo.shop import Shop, ShopError, order_body
from tests.e2e.journeys import Driver, poll

TEA: dict[str, Any] = {"sku": "E2E-PD-TEA", "name": "Oolong tea", "variant": "250 g",
                       "price": 8_800}  # fmt: skip


def _sent(messages: list[dict[str, Any]], template: str) -> list[dict[str, Any]]:
    return [m for m in messages if m["template"] == template and m["status"] == "sent"]


async def _refunded(d: Driver, order_id: str, amount: int) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        payment = await d.payment(order_id)
        return payment if payment["refunded"] == amount else None

    return dict(await poll(probe, f"{order_id}: {amount} refunded", timeout=60))


async def _request_refunded(shop: Shop, request_id: str) -> None:
    """Returns has heard the refund was paid (the request no longer holds its line)."""
    url = f"{shop.edges.returns}/v1/refund-requests/{request_id}"

    async def probe() -> bool:
        found = await shop.call("refund request", "GET", url, shop.shop_headers)
        return found["status"] == "refunded"

    await poll(probe, f"{request_id} refunded", timeout=60)


async def _ask_once_priced(shop: Shop, order_id: str, lines: list[dict[str, Any]]) -> Any:
    """The customer's price-difference request, once returns has heard of the new price
    (PriceChanged reaches it through stock.v1 a moment after operations set it)."""

    async def probe() -> dict[str, Any] | None:
        try:
            return await shop.request_refund(order_id, "price_dropped", lines)
        except ShopError as refused:
            if refused.code not in ("no_lower_price", "already_compensated"):
                raise  # otherwise: the new price has not reached returns yet
            return None

    return await poll(probe, f"{order_id}: the lower price known to returns", timeout=30)


async def test_a_lower_price_after_payment_is_refunded_once_and_a_further_drop_only_the_extra(
    shop: Shop,
) -> None:
    d = Driver(shop)
    await shop.put_stock(TEA["sku"], 50, threshold=0, name=TEA["name"], variant=TEA["variant"])
    await set_price(shop, TEA["sku"], TEA["price"], "CNY")
    body = order_body(random.Random(7), "wallet", catalogue=(TEA,), lines=1, quantity=2)
    body["locale"] = "zh-TW"
    body["contact"]["email"] = f"price-{uuid.uuid4().hex[:10]}@example.com"
    order_id = str((await shop.place_order(body))["order_id"])
    await d.pay(order_id)
    await d.status(order_id, "paid", "shipped")
    both = [{"line_id": "l1", "quantity": 2}]

    await set_price(shop, TEA["sku"], 7_800, "CNY")  # 10.00 less each, after the payment
    first = await _ask_once_priced(shop, order_id, both)
    assert (first["flow"], first["amount"]["amount"]) == ("no_return", 2_000)
    await _refunded(d, order_id, 2_000)
    await _request_refunded(shop, str(first["id"]))

    try:  # the same drop again: already refunded
        again = await shop.request_refund(order_id, "price_dropped", both)
        raise AssertionError(f"the same drop refunded twice: {again}")
    except ShopError as refused:
        assert (refused.status, refused.code) == (422, "already_compensated"), refused

    await set_price(shop, TEA["sku"], 7_300, "CNY")  # 5.00 less each again
    further = await _ask_once_priced(shop, order_id, both)
    assert further["amount"]["amount"] == 1_000, "only the extra difference"
    payment = await _refunded(d, order_id, 3_000)
    assert payment["net"] == payment["captured"] - 3_000

    async def told() -> list[dict[str, Any]] | None:
        messages = await d.messages(order_id)
        return messages if len(_sent(messages, "price_difference")) >= 4 else None

    messages = await poll(told, f"{order_id}: both differences told", timeout=60)
    assert len(_sent(messages, "price_difference")) == 4, "each once per channel"
    assert {m["locale"] for m in _sent(messages, "price_difference")} == {"zh-TW"}
