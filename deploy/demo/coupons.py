"""Coupons in the demo: operations issue two codes when the demo prepares (10% off from
100.00 of goods, 20.00 off from 200.00), some customers give one at checkout when their
goods reach its minimum spend, and now and then one types a code that does not exist, is
refused it (422 naming coupon_code) and places the order without it."""

from __future__ import annotations

import random
from typing import Any

from deploy.demo.shop import Shop, ShopError

COUPONS: tuple[dict[str, Any], ...] = (
    {"code": "DEMO10", "kind": "percent", "value": 10, "min_spend": 10_000},
    {"code": "SAVE20", "kind": "fixed", "value": 2_000, "currency": "CNY", "min_spend": 20_000},
)
USE_SHARE = 0.25  # orders placed with a coupon whose minimum spend they reach
MISTYPED_SHARE = 0.03  # customers who type a code that does not exist
MISTYPED = "WELCOME2026"


async def prepare(shop: Shop) -> None:
    """Operations issue the demo's coupons (already issued by an earlier run: kept)."""
    url = f"{shop.edges.order}/ops/coupons"
    for coupon in COUPONS:
        try:
            await shop.call("issue coupon", "POST", url, shop.ops_headers, coupon)
        except ShopError as refused:
            if refused.code != "coupon_exists":
                raise


def goods(body: dict[str, Any]) -> int:
    return sum(int(item["unit_price"]) * int(item["quantity"]) for item in body["items"])


def pick(rng: random.Random, body: dict[str, Any]) -> str | None:
    """The code a customer gives at checkout, if any."""
    draw = rng.random()
    if draw < MISTYPED_SHARE:
        return MISTYPED
    if draw < MISTYPED_SHARE + USE_SHARE:
        usable = [c["code"] for c in COUPONS if goods(body) >= c["min_spend"]]
        return rng.choice(usable) if usable else None
    return None


async def place(shop: Shop, body: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """Places the order, with a coupon when the customer gives one; a code refused (it does
    not exist, or no longer applies) is dropped and the order placed without it."""
    code = pick(rng, body)
    if code is None:
        return await shop.place_order(body)
    try:
        return await shop.place_order({**body, "coupon_code": code})
    except ShopError as refused:
        if refused.status != 422 or not (refused.code or "").startswith("coupon_"):
            raise
    return await shop.place_order(body)
