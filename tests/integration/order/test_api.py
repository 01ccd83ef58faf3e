"""The shop frontend's API: placing, idempotent retries, validation, access, customer lists."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from shared.runtime import Runtime
from shared.tokens import order_token
from tests.integration.order.support import get, order_body, place
from tests.support.events import published, seen
from tests.support.http import SHOP, client
from tests.support.kafka import TopicTail


async def count_rows(runtime: Runtime) -> dict[str, int]:
    async with runtime.db.acquire() as conn:
        return {
            table: await conn.fetchval(f"SELECT count(*) FROM {table}")
            for table in ("orders", "order_timeline", "idempotency_keys", "outbox", "timers")
        }


@pytest.mark.parametrize(
    "method", ["wallet", "online_banking", "card", "cash_on_delivery", "pay_for_me"]
)
async def test_placing_an_order_answers_201_and_publishes_order_placed(
    service: Runtime, tail: TopicTail, method: str
) -> None:
    placed = await place(service, payment_method=method, locale="en")
    order_id = placed["order_id"]
    assert order_id.startswith("ord_") and len(order_id) == 28
    assert placed["status"] == "placed"
    assert placed["totals"]["total"] == {"amount": 2 * 4_900 + 3_000, "currency": "CNY"}
    assert placed["payment"]["method"] == method
    assert placed["payment"]["amount_due"]["amount"] == 12_800
    assert placed["access_token"] == order_token("dev-order-token-secret", order_id)
    assert [e["kind"] for e in placed["timeline"]] == ["placed"]
    if method == "cash_on_delivery":
        assert placed["payment"]["status"] == "pay_on_delivery"
        assert placed["payment"]["due_at"] is None
        assert "courier" in placed["payment"]["instructions"]
    else:
        assert placed["payment"]["status"] == "pending"
        assert placed["payment"]["due_at"] is not None

    [record] = await published(tail, order_id, "OrderPlaced")
    envelope = record.json()
    assert envelope["producer"] == "order" and envelope["order_id"] == order_id
    assert envelope["schema_version"] == 1 and envelope["event_id"] and envelope["correlation_id"]
    payload = envelope["payload"]
    assert payload["payment_method"] == method
    assert payload["total"] == {"amount": 12_800, "currency": "CNY"}
    assert payload["time_zone"] == "UTC"
    assert payload["contact"]["phone"] == "+8613800138000"
    assert [line["line_id"] for line in payload["lines"]] == ["l1", "l2"]
    assert payload["order_url"].endswith(
        f"/v1/orders/{order_id}?access_token={placed['access_token']}"
    )
    assert (payload["payment_due_at"] is None) == (method == "cash_on_delivery")


async def test_a_retry_with_the_same_idempotency_key_returns_the_same_order(
    service: Runtime, tail: TopicTail
) -> None:
    body = order_body()
    key = {"Idempotency-Key": f"checkout-{uuid.uuid4()}", **SHOP}
    async with client(service) as http:
        first = await http.post("/v1/orders", json=body, headers=key)
        second = await http.post("/v1/orders", json=body, headers=key)
        changed = await http.post("/v1/orders", json={**body, "currency": "USD"}, headers=key)
    assert first.status_code == 201 and second.status_code == 200
    assert first.json()["order_id"] == second.json()["order_id"]
    assert second.headers["Idempotent-Replayed"] == "true"
    assert changed.status_code == 409 and changed.json()["error"] == "idempotency_key_reused"
    order_id = first.json()["order_id"]
    await published(tail, order_id, "OrderPlaced")
    async with service.db.acquire() as conn:
        same_customer = await conn.fetchval(
            "SELECT count(*) FROM orders WHERE customer_id = $1", body["customer_id"]
        )
    assert same_customer == 1
    assert len(seen(tail, order_id, "OrderPlaced")) == 1


def _item(**changes: Any) -> list[dict[str, Any]]:
    return [{"sku": "TEE", "name": "Tee", "quantity": 1, "unit_price": 100, **changes}]


INVALID: list[tuple[str, dict[str, Any], str]] = [
    ("no items", {"items": []}, "items"),
    ("quantity zero", {"items": _item(quantity=0)}, "items[0].quantity"),
    ("quantity too big", {"items": _item(quantity=100)}, "items[0].quantity"),
    ("negative price", {"items": _item(unit_price=-5)}, "items[0].unit_price"),
    ("absurd price", {"items": _item(unit_price=10**12)}, "items[0].unit_price"),
    ("too many lines", {"items": _item() * 51}, "items"),
    ("unknown currency", {"currency": "XYZ"}, "currency"),
    ("no contact", {"contact": {}}, "contact"),
    ("malformed phone", {"contact": {"phone": "12ab"}}, "contact.phone"),
    ("malformed email", {"contact": {"email": "li.wei@@example"}}, "contact.email"),
    ("unknown locale", {"locale": "fr-FR"}, "locale"),
    ("unknown method", {"payment_method": "barter"}, "payment_method"),
    (
        "address without city",
        {"address": {"recipient": "Li", "line1": "1 Rd", "country": "CN"}},
        "address.city",
    ),
    (
        "blank recipient",
        {"address": {"recipient": " ", "line1": "1 Rd", "city": "SH", "country": "CN"}},
        "address.recipient",
    ),
    (
        "bad country",
        {"address": {"recipient": "Li", "line1": "1 Rd", "city": "SH", "country": "China"}},
        "address.country",
    ),
    ("unknown time zone", {"time_zone": "Mars/Olympus"}, "time_zone"),
    ("long gift message", {"gift_message": "x" * 201}, "gift_message"),
    ("control characters", {"items": _item(name="Tee\x00")}, "items[0].name"),
    ("missing field", {"payment_method": None}, "payment_method"),
]


@pytest.mark.parametrize(("case", "change", "field"), INVALID, ids=[c[0] for c in INVALID])
async def test_bad_input_gets_422_naming_the_field_and_writes_nothing(
    service: Runtime, case: str, change: dict[str, Any], field: str
) -> None:
    body = {k: v for k, v in order_body(**change).items() if v is not None}
    before = await count_rows(service)
    headers = {"Idempotency-Key": f"k-{uuid.uuid4()}", **SHOP}
    async with client(service) as http:
        response = await http.post("/v1/orders", json=body, headers=headers)
    assert response.status_code == 422, response.text
    assert field in [f["field"] for f in response.json()["fields"]], response.json()
    assert await count_rows(service) == before


async def test_access_token_opens_its_order_only(service: Runtime) -> None:
    mine = await place(service)
    theirs = await place(service)
    token = mine["access_token"]
    async with client(service) as http:
        by_header = await http.get(
            f"/v1/orders/{mine['order_id']}", headers={"Authorization": f"Bearer {token}"}
        )
        by_link = await http.get(f"/v1/orders/{mine['order_id']}", params={"access_token": token})
        other = await http.get(
            f"/v1/orders/{theirs['order_id']}", headers={"Authorization": f"Bearer {token}"}
        )
        other_link = await http.get(
            f"/v1/orders/{theirs['order_id']}", params={"access_token": token}
        )
        anonymous = await http.get(f"/v1/orders/{mine['order_id']}")
        wrong_key = await http.get(
            f"/v1/orders/{mine['order_id']}", headers={"Authorization": "Bearer guess"}
        )
        token_lists = await http.get(
            f"/v1/customers/{mine['customer_id']}/orders",
            headers={"Authorization": f"Bearer {token}"},
        )
        token_cancels_other = await http.post(
            f"/v1/orders/{theirs['order_id']}/cancel",
            headers={"Authorization": f"Bearer {token}"},
        )
    assert by_header.status_code == 200 and by_link.status_code == 200
    assert by_link.json()["order_id"] == mine["order_id"]
    assert other.status_code == 403 and other_link.status_code == 403
    assert anonymous.status_code == 401 and wrong_key.status_code == 403
    assert token_lists.status_code == 403
    assert token_cancels_other.status_code == 403
    assert (await get(service, theirs["order_id"]))["status"] == "placed"


async def test_the_shop_acting_for_one_customer_cannot_read_anothers_order(
    service: Runtime,
) -> None:
    alice = await place(service)
    bob_id = f"cus_{uuid.uuid4().hex[:8]}"
    as_bob = {**SHOP, "X-Customer-ID": bob_id}
    async with client(service) as http:
        read = await http.get(f"/v1/orders/{alice['order_id']}", headers=as_bob)
        listed = await http.get(f"/v1/customers/{alice['customer_id']}/orders", headers=as_bob)
        cancel = await http.post(f"/v1/orders/{alice['order_id']}/cancel", headers=as_bob)
        as_alice = await http.get(
            f"/v1/orders/{alice['order_id']}",
            headers={**SHOP, "X-Customer-ID": alice["customer_id"]},
        )
    assert read.status_code == 403 and listed.status_code == 403 and cancel.status_code == 403
    assert as_alice.status_code == 200


async def test_unknown_orders_are_404_and_wrong_states_are_409(service: Runtime) -> None:
    unknown = f"ord_{uuid.uuid4().hex[:24]}"
    placed = await place(service)
    async with client(service) as http:
        missing = await http.get(f"/v1/orders/{unknown}", headers=SHOP)
        missing_cancel = await http.post(f"/v1/orders/{unknown}/cancel", headers=SHOP)
        unshipped = await http.post(
            f"/v1/orders/{placed['order_id']}/confirm-receipt", headers=SHOP
        )
        cancelled = await http.post(f"/v1/orders/{placed['order_id']}/cancel", headers=SHOP)
        again = await http.post(f"/v1/orders/{placed['order_id']}/cancel", headers=SHOP)
    assert missing.status_code == 404 and missing_cancel.status_code == 404
    assert unshipped.status_code == 409
    assert unshipped.json()["current_state"] == "placed"
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert again.status_code == 409 and again.json()["current_state"] == "cancelled"


async def test_a_customers_orders_are_listed_newest_first_page_by_page(service: Runtime) -> None:
    customer = f"cus_{uuid.uuid4().hex[:8]}"
    ids = [(await place(service, customer_id=customer))["order_id"] for _ in range(3)]
    await place(service)  # someone else's
    async with client(service) as http:
        first = await http.get(f"/v1/customers/{customer}/orders?limit=2", headers=SHOP)
        cursor = first.json()["next_cursor"]
        second = await http.get(
            f"/v1/customers/{customer}/orders", params={"limit": 2, "cursor": cursor}, headers=SHOP
        )
        bad = await http.get(f"/v1/customers/{customer}/orders?cursor=nonsense", headers=SHOP)
    assert [o["order_id"] for o in first.json()["orders"]] == ids[::-1][:2]
    assert [o["order_id"] for o in second.json()["orders"]] == ids[:1]
    assert second.json()["next_cursor"] is None
    assert first.json()["orders"][0]["item_count"] == 3
    assert bad.status_code == 422 and bad.json()["field"] == "cursor"


async def test_health_readiness_metrics_and_openapi(service: Runtime) -> None:
    async with client(service) as http:
        health = await http.get("/healthz")
        ready = await http.get("/readyz")
        metrics = await http.get("/metrics")
        openapi = await http.get("/openapi.json")
    assert health.status_code == 200 and ready.json()["status"] == "ready"
    assert "fulfil_" in metrics.text or "http_requests" in metrics.text
    paths = openapi.json()["paths"]
    assert {"/v1/orders", "/v1/orders/{order_id}", "/v1/customers/{customer_id}/orders"} <= set(
        paths
    )
    assert (
        "/v1/orders/{order_id}/cancel" in paths and "/v1/orders/{order_id}/confirm-receipt" in paths
    )
