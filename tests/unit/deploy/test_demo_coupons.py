"""The demo's coupons: issued once however often the demo starts, given only when the goods
reach the minimum spend, and a mistyped code refused then dropped: the order is placed."""

from __future__ import annotations

import json
import random
from typing import Any, cast

from deploy.demo import coupons
from deploy.demo.shop import Answer, Edges, Shop, ShopError

EDGES = Edges("http://order", "http://payment", "http://logistics", "http://returns",
              "http://notify", "shop-key", "ops-key")  # fmt: skip


def refusal(status: int, code: str) -> ShopError:
    return ShopError("refused", Answer(status, json.dumps({"error": code}).encode()))


class CouponShop:
    def __init__(self, issued: set[str] | None = None) -> None:
        self.edges = EDGES
        self.ops_headers = {"Authorization": "Bearer ops-key"}
        self.issued = issued or set()
        self.placed: list[dict[str, Any]] = []
        self.refused = 0

    async def call(
        self, what: str, method: str, url: str, headers: dict[str, str], body: Any = None
    ) -> dict[str, Any]:
        assert (method, url) == ("POST", "http://order/ops/coupons") and headers["Authorization"]
        if body["code"] in self.issued:
            raise refusal(409, "coupon_exists")
        self.issued.add(body["code"])
        return dict(body)

    async def place_order(self, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("coupon_code") == coupons.MISTYPED:
            self.refused += 1
            raise refusal(422, "coupon_unknown")
        self.placed.append(body)
        return {"order_id": f"ord_{len(self.placed)}"}


def body(total: int) -> dict[str, Any]:
    return {"items": [{"sku": "TEA", "quantity": 2, "unit_price": total // 2}]}


async def test_the_coupons_are_issued_once_however_often_the_demo_starts() -> None:
    shop = CouponShop()
    await coupons.prepare(cast(Shop, shop))
    await coupons.prepare(cast(Shop, shop))  # a second run finds them issued
    assert shop.issued == {c["code"] for c in coupons.COUPONS}


async def test_a_coupon_is_given_only_when_the_goods_reach_its_minimum_spend() -> None:
    rng = random.Random(5)
    given = [coupons.pick(rng, body(9_000)) for _ in range(400)]
    assert set(given) <= {None, coupons.MISTYPED}, "below every minimum spend"
    given = [coupons.pick(rng, body(25_000)) for _ in range(400)]
    assert {"DEMO10", "SAVE20"} <= set(given)
    used = sum(1 for code in given if code in ("DEMO10", "SAVE20"))
    assert 50 < used < 160, "about a quarter of the orders"


async def test_a_mistyped_code_is_dropped_and_the_order_placed_without_it() -> None:
    shop = CouponShop()
    rng = random.Random(0)
    for _ in range(300):
        answer = await coupons.place(cast(Shop, shop), body(25_000), rng)
        assert answer["order_id"]
    assert len(shop.placed) == 300, "every order placed once"
    assert shop.refused > 0, "some customers mistyped a code"
    codes = [b.get("coupon_code") for b in shop.placed]
    assert coupons.MISTYPED not in codes and "DEMO10" in codes
