"""Postage and coupons on the real database and broker: what the order shows and charges,
what OrderPlaced tells, the coupon refusals (422 on coupon_code) and a usage limit held
under parallel placements."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.runtime import Runtime
from tests.integration.order.support import order_body, order_service, place
from tests.support.events import published
from tests.support.http import OPS, SHOP, client
from tests.support.infra import Infra
from tests.support.kafka import TopicTail


@pytest.fixture(scope="module")
async def service(infra: Infra) -> AsyncIterator[Runtime]:
    dsn = await infra.create_database("order")
    settings = {"shipping_fee": 800, "free_shipping_from": 20_000}
    async with order_service(infra, dsn, **settings) as runtime:
        yield runtime


def code() -> str:
    return f"C{uuid.uuid4().hex[:10].upper()}"


async def issue(runtime: Runtime, **body: Any) -> dict[str, Any]:
    async with client(runtime) as http:
        response = await http.post("/ops/coupons", json=body, headers=OPS)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def placing(runtime: Runtime, **overrides: Any) -> Any:
    async with client(runtime) as http:
        return await http.post("/v1/orders", json=order_body(**overrides), headers=SHOP)


async def test_a_coupon_and_postage_are_on_the_order_the_charge_and_order_placed(
    service: Runtime, tail: TopicTail
) -> None:
    coupon = code()
    await issue(service, code=coupon, kind="fixed", value=1_000, currency="CNY", min_spend=5_000)
    placed = await place(service, coupon_code=coupon.lower())  # goods 12800, under 20000
    totals = placed["totals"]
    assert totals["goods"]["amount"] == 12_800 and totals["discount"]["amount"] == 1_000
    assert totals["shipping_fee"]["amount"] == 800 and totals["coupon_code"] == coupon
    assert totals["total"]["amount"] == 12_800 - 1_000 + 800
    assert placed["payment"]["amount_due"]["amount"] == 12_600
    # 1000 over 9800 and 3000: 765.6 and 234.4, exact to the fen
    assert [line["discount"] for line in placed["items"]] == [766, 234]

    [record] = await published(tail, placed["order_id"], "OrderPlaced")
    payload = record.json()["payload"]
    assert payload["total"]["amount"] == 12_600
    assert payload["shipping_fee"]["amount"] == 800 and payload["discount"]["amount"] == 1_000
    assert [line["discount"]["amount"] for line in payload["lines"]] == [766, 234]
    assert payload["coupon_code"] == coupon


async def test_shipping_is_free_from_the_threshold_and_without_a_coupon_nothing_is_off(
    service: Runtime,
) -> None:
    items = [{"sku": "HOOD-GRY-L", "name": "Hoodie", "quantity": 1, "unit_price": 20_000}]
    placed = await place(service, items=items)
    totals = placed["totals"]
    assert (totals["discount"]["amount"], totals["shipping_fee"]["amount"]) == (0, 0)
    assert totals["total"]["amount"] == 20_000 and totals["coupon_code"] is None


async def test_a_coupon_that_does_not_apply_is_a_422_naming_coupon_code(service: Runtime) -> None:
    past, floor = code(), code()
    yesterday = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    last_week = (datetime.now(UTC) - timedelta(days=7)).isoformat()
    await issue(
        service, code=past, kind="percent", value=10, valid_from=last_week, valid_until=yesterday
    )
    await issue(service, code=floor, kind="percent", value=10, min_spend=50_000)
    for given, error in (
        ("NOSUCHCOUPON", "coupon_unknown"),
        (past, "coupon_expired"),
        (floor, "coupon_below_minimum_spend"),
        ("bad code!", "invalid_request"),
    ):
        response = await placing(service, coupon_code=given)
        assert response.status_code == 422, response.text
        problem = response.json()
        assert problem["error"] == error, problem
        assert "coupon_code" in str(problem["fields"])


async def test_an_expired_coupon_is_refused_from_then_on(service: Runtime) -> None:
    coupon = code()
    await issue(service, code=coupon, kind="percent", value=5)
    assert (await placing(service, coupon_code=coupon)).status_code == 201
    async with client(service) as http:
        expired = await http.post(f"/ops/coupons/{coupon}/expire", headers=OPS)
        listed = await http.get("/ops/coupons", headers=OPS)
    assert expired.status_code == 200 and expired.json()["expired_at"] is not None
    [shown] = [c for c in listed.json() if c["code"] == coupon]
    assert shown["used"] == 1
    assert (await placing(service, coupon_code=coupon)).json()["error"] == "coupon_expired"


async def test_parallel_placements_never_use_a_coupon_beyond_its_limit(service: Runtime) -> None:
    coupon = code()
    await issue(service, code=coupon, kind="fixed", value=500, currency="CNY", usage_limit=3)
    answers = await asyncio.gather(*(placing(service, coupon_code=coupon) for _ in range(10)))
    statuses = sorted(response.status_code for response in answers)
    assert statuses == [201] * 3 + [422] * 7
    refused = {r.json()["error"] for r in answers if r.status_code == 422}
    assert refused == {"coupon_used_up"}
    async with service.db.acquire() as conn:
        used = await conn.fetchval("SELECT used FROM coupons WHERE code = $1", coupon)
        redeemed = await conn.fetchval(
            "SELECT count(*) FROM coupon_redemptions WHERE code = $1", coupon
        )
    assert used == redeemed == 3


async def test_operations_cannot_issue_a_coupon_twice_or_a_percentage_over_100(
    service: Runtime,
) -> None:
    coupon = code()
    await issue(service, code=coupon, kind="percent", value=10)
    async with client(service) as http:
        again = await http.post(
            "/ops/coupons", json={"code": coupon, "kind": "percent", "value": 10}, headers=OPS
        )
        over = await http.post(
            "/ops/coupons", json={"code": code(), "kind": "percent", "value": 101}, headers=OPS
        )
        by_shop = await http.get("/ops/coupons", headers=SHOP)
    assert again.status_code == 409 and over.status_code == 422
    assert by_shop.status_code == 403
