"""The catalogue's prices: operations set a SKU's price, logistics keeps the history with
the time of each change and publishes PriceChanged on stock.v1, keyed by the SKU."""

from __future__ import annotations

from tests.integration.logistics.support import Logistics
from tests.support.events import new_id
from tests.support.http import OPS, SHOP, client
from tests.support.kafka import Record


async def test_a_price_change_is_kept_with_its_time_and_published(lg: Logistics) -> None:
    sku = new_id("TEA").upper()
    async with lg.running(), client(lg.runtime) as http:
        first = await http.put(
            f"/v1/prices/{sku}", json={"amount": 5_000, "currency": "CNY"}, headers=OPS
        )
        second = await http.put(
            f"/v1/prices/{sku}", json={"amount": 4_200, "currency": "CNY"}, headers=OPS
        )
        history = await http.get(f"/v1/prices/{sku}", headers=OPS)
        refused = await http.put(
            f"/v1/prices/{sku}", json={"amount": 0, "currency": "CNY"}, headers=OPS
        )
        by_shop = await http.put(
            f"/v1/prices/{sku}", json={"amount": 1, "currency": "CNY"}, headers=SHOP
        )
        unknown = await http.get(f"/v1/prices/{new_id('NONE')}", headers=OPS)
    assert first.status_code == second.status_code == 200, second.text
    body = history.json()
    assert body["current"]["amount"] == 4_200
    assert [h["amount"] for h in body["history"]] == [4_200, 5_000]
    assert body["history"][0]["changed_at"] > body["history"][1]["changed_at"]
    assert refused.status_code == 422 and by_shop.status_code == 403
    assert unknown.status_code == 404

    def change(record: Record) -> bool:
        return record.topic == "stock.v1" and record.json()["payload"].get("sku") == sku

    records = await lg.tail.wait_for(change, count=2)
    assert [r.json()["type"] for r in records] == ["PriceChanged", "PriceChanged"]
    assert [r.json()["payload"]["price"]["amount"] for r in records] == [5_000, 4_200]
    assert all(r.key == sku.encode() for r in records)
