"""A courier chosen at checkout on the real database and broker: its surcharge on the
order and in OrderPlaced, free shipping that keeps it, and a courier the shop does not
offer refused (422 naming `courier`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from shared.runtime import Runtime
from tests.integration.order.support import order_body, order_service, place
from tests.support.events import published
from tests.support.http import SHOP, client
from tests.support.infra import Infra
from tests.support.kafka import TopicTail


@pytest.fixture(scope="module")
async def service(infra: Infra) -> AsyncIterator[Runtime]:
    dsn = await infra.create_database("order")
    settings: dict[str, Any] = {
        "shipping_fee": 800,
        "free_shipping_from": 20_000,
        "courier_options": {"sf": 1_500, "jd": 900},
    }
    async with order_service(infra, dsn, **settings) as runtime:
        yield runtime


async def test_the_chosen_couriers_surcharge_is_charged_shown_and_told(
    service: Runtime, tail: TopicTail
) -> None:
    placed = await place(service, courier="sf")  # goods 12800: postage 800 + 1500
    totals = placed["totals"]
    assert totals["shipping_fee"]["amount"] == 2_300
    assert totals["courier"] == "sf" and totals["courier_fee"]["amount"] == 1_500
    assert totals["total"]["amount"] == 12_800 + 2_300
    assert placed["payment"]["amount_due"]["amount"] == 15_100

    [record] = await published(tail, placed["order_id"], "OrderPlaced")
    assert record.json()["schema_minor"] == 2
    payload = record.json()["payload"]
    assert payload["courier"] == "sf" and payload["courier_fee"]["amount"] == 1_500
    assert payload["shipping_fee"]["amount"] == 2_300 and payload["total"]["amount"] == 15_100


async def test_free_shipping_still_charges_the_surcharge_and_no_choice_charges_none(
    service: Runtime, tail: TopicTail
) -> None:
    items = [{"sku": "HOOD-GRY-L", "name": "Hoodie", "quantity": 1, "unit_price": 20_000}]
    chosen = await place(service, items=items, courier="jd")
    assert chosen["totals"]["shipping_fee"]["amount"] == 900
    assert chosen["totals"]["total"]["amount"] == 20_900

    plain = await place(service)
    assert plain["totals"]["courier"] is None and plain["totals"]["courier_fee"] is None
    [record] = await published(tail, plain["order_id"], "OrderPlaced")
    assert record.json()["payload"]["courier"] is None


async def test_a_courier_the_shop_does_not_offer_is_a_422_naming_courier(
    service: Runtime,
) -> None:
    async with client(service) as http:
        unknown = await http.post("/v1/orders", json=order_body(courier="ems"), headers=SHOP)
        malformed = await http.post("/v1/orders", json=order_body(courier="SF!"), headers=SHOP)
    assert unknown.status_code == 422, unknown.text
    problem = unknown.json()
    assert problem["error"] == "courier_not_offered"
    assert problem["fields"] == [{"field": "courier", "message": problem["fields"][0]["message"]}]
    assert "jd, sf" in problem["fields"][0]["message"]
    assert malformed.status_code == 422 and "courier" in str(malformed.json()["fields"])
