"""The queue operations work through: requests awaiting a person across all orders, oldest
first, with how long each waited, and the decisions taken on them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
from prometheus_client import REGISTRY

from services.returns import repository
from shared.runtime import Runtime
from tests.integration.returns.support import ask, fetch, paid_order
from tests.support.events import now
from tests.support.http import OPS, client, customer
from tests.support.polling import eventually

QUEUE = "/v1/ops/refund-requests"
PRICE_DROP = {"reason": "price_dropped", "amount": {"amount": 500, "currency": "CNY"}}
DAMAGED_CUP = {"reason": "damaged", "lines": [{"line_id": "l2", "quantity": 1}]}
ANA = {**OPS, "X-Ops-Actor": "ana"}


async def _open(runtime: Runtime, body: dict[str, Any], **order: datetime) -> dict[str, Any]:
    order_id = await paid_order(runtime, **order)
    response = await ask(runtime, order_id, body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _queue(runtime: Runtime, **params: Any) -> list[dict[str, Any]]:
    """The whole queue, page by page as a client follows `next_cursor`."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    async with client(runtime) as http:
        while True:
            query = {**params, **({"cursor": cursor} if cursor else {})}
            response = await http.get(QUEUE, params=query, headers=OPS)
            assert response.status_code == 200, response.text
            page = response.json()
            found.extend(page["refund_requests"])
            cursor = page["next_cursor"]
            if cursor is None:
                return found


async def _decide(
    runtime: Runtime, request_id: str, action: str, body: Any = None
) -> httpx.Response:
    async with client(runtime) as http:
        url = f"/v1/refund-requests/{request_id}/{action}"
        return await http.post(url, json=body, headers=ANA)


async def test_requests_of_several_orders_are_listed_oldest_first_with_their_wait(
    returns: Runtime,
) -> None:
    shipped = now() - timedelta(days=1)
    delivered = now() - timedelta(hours=2)
    first = await _open(returns, PRICE_DROP, shipped_at=shipped)
    second = await _open(returns, DAMAGED_CUP, shipped_at=shipped, delivered_at=delivered)
    third = await _open(returns, PRICE_DROP, shipped_at=shipped)
    ours = {r["id"] for r in (first, second, third)}

    listed = [r for r in await _queue(returns, limit=2) if r["id"] in ours]
    assert [r["id"] for r in listed] == [first["id"], second["id"], third["id"]]
    assert len({r["order_id"] for r in listed}) == 3, "one queue across all orders"
    oldest = listed[0]
    assert oldest["order_id"] == first["order_id"]
    assert oldest["flow"] == "no_return" and oldest["reason"] == "price_dropped"
    assert oldest["amount"] == {"amount": 500, "currency": "CNY"}
    assert oldest["requested_at"] == first["created_at"]
    waited = (now() - datetime.fromisoformat(oldest["requested_at"])).total_seconds()
    assert 0 <= oldest["waited_seconds"] <= waited + 1
    assert [r["waited_seconds"] for r in listed] == sorted(
        (r["waited_seconds"] for r in listed), reverse=True
    )
    assert listed[1]["lines"] == [{"line_id": "l2", "sku": "SKU-CUP", "quantity": 1}]

    returns_only = {r["id"] for r in await _queue(returns, flow="with_return")}
    assert second["id"] in returns_only and not {first["id"], third["id"]} & returns_only
    before = {r["id"] for r in await _queue(returns, before=second["created_at"])}
    assert first["id"] in before and not {second["id"], third["id"]} & before


async def test_approving_and_refusing_take_requests_off_the_queue_once(returns: Runtime) -> None:
    shipped = now() - timedelta(days=1)
    approved = await _open(returns, PRICE_DROP, shipped_at=shipped)
    refused = await _open(returns, PRICE_DROP, shipped_at=shipped)

    yes = await _decide(returns, approved["id"], "approve", {"note": "price matched"})
    assert yes.status_code == 200, yes.text
    assert yes.json()["status"] == "approved"
    step = yes.json()["steps"][-1]
    assert (step["actor"], step["action"]) == ("operations", "approved")
    assert step["details"]["by"] == "ana" and step["details"]["note"] == "price matched"

    for body in (None, {}, {"reason": ""}, {"reason": "   "}):
        no_reason = await _decide(returns, refused["id"], "reject", body)
        assert no_reason.status_code == 422, (body, no_reason.text)
        assert "reason" in [f["field"] for f in no_reason.json()["fields"]], no_reason.json()
    still = await fetch(returns, refused["id"], refused["order_id"])
    assert still["status"] == "requested", "a refused command writes nothing"

    no = await _decide(returns, refused["id"], "reject", {"reason": "the price did not drop"})
    assert no.status_code == 200, no.text
    assert no.json()["status"] == "rejected"
    assert no.json()["rejection_reason"] == "the price did not drop"
    assert no.json()["steps"][-1]["details"] == {"reason": "the price did not drop", "by": "ana"}

    for request_id, action, body in (
        (approved["id"], "approve", None),
        (approved["id"], "reject", {"reason": "changed my mind"}),
        (refused["id"], "reject", {"reason": "again"}),
        (refused["id"], "approve", None),
    ):
        again = await _decide(returns, request_id, action, body)
        assert again.status_code == 409, (action, again.text)
        assert again.headers["content-type"].startswith("application/problem+json")
        assert again.json()["error"] == "wrong_state", again.json()
    queued = {r["id"] for r in await _queue(returns)}
    assert not {approved["id"], refused["id"]} & queued


async def test_the_queue_is_for_operations_and_refuses_a_bad_cursor(returns: Runtime) -> None:
    order_id = await paid_order(returns)
    async with client(returns) as http:
        anonymous = await http.get(QUEUE)
        as_customer = await http.get(QUEUE, headers=customer(order_id))
        bad_cursor = await http.get(QUEUE, params={"cursor": "not-a-cursor"}, headers=OPS)
        bad_flow = await http.get(QUEUE, params={"flow": "before_shipping"}, headers=OPS)
    assert anonymous.status_code == 401
    assert as_customer.status_code == 403
    assert bad_cursor.status_code == 422 and bad_cursor.json()["field"] == "cursor"
    assert bad_flow.status_code == 422
    assert "flow" in [f["field"] for f in bad_flow.json()["fields"]]


async def test_the_awaiting_gauge_counts_the_queue(returns: Runtime) -> None:
    await _open(returns, PRICE_DROP, shipped_at=now() - timedelta(days=1))

    async def counted() -> bool:
        async with returns.db.acquire() as conn:
            queued = await repository.count_awaiting(conn)
        return queued > 0 and REGISTRY.get_sample_value("fulfil_refund_requests_awaiting") == queued

    await eventually(counted, what="the gauge showing the queue's size")
