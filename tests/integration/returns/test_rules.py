"""The rules at the edge: the return window, who pays the return, over-refunds, partial
refunds, one open request per line, idempotency keys and rejections."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from shared.runtime import Runtime
from tests.integration.returns.support import ask, fetch, operate, refund_paid, seed, until_status
from tests.support.events import new_order_id, now, payloads, seen, send
from tests.support.http import client, customer
from tests.support.kafka import TopicTail

TEA_1 = {"line_id": "l1", "quantity": 1}
CUP_1 = {"line_id": "l2", "quantity": 1}


async def delivered_order(returns: Runtime, days_ago: float) -> str:
    order_id = new_order_id()
    at = now() - timedelta(days=days_ago)
    await seed(returns, order_id, shipped_at=at - timedelta(days=2), delivered_at=at)
    return order_id


async def listed(returns: Runtime, order_id: str) -> list[dict[str, object]]:
    async with client(returns) as http:
        response = await http.get(
            f"/v1/orders/{order_id}/refund-requests", headers=customer(order_id)
        )
    assert response.status_code == 200, response.text
    return list(response.json()["refund_requests"])


async def test_a_no_reason_return_on_day_eight_is_refused_saying_why(
    returns: Runtime, tail: TopicTail
) -> None:
    order_id = await delivered_order(returns, days_ago=8)

    response = await ask(returns, order_id, {"reason": "changed_mind", "lines": [TEA_1]})

    assert response.status_code == 422
    error = response.json()
    assert (error["error"], error["field"]) == ("return_window_closed", "reason")
    assert "7-day no-reason return window closed at" in error["message"]
    assert await listed(returns, order_id) == [], "a refused request writes nothing"
    quality = await ask(returns, order_id, {"reason": "quality_problem", "lines": [TEA_1]})
    assert quality.status_code == 201, "quality problems qualify after the window"
    assert quality.json()["return_shipping_paid_by"] == "shop"
    await payloads(tail, order_id, "RefundRequested")
    assert [r.json()["payload"]["reason"] for r in seen(tail, order_id, "RefundRequested")] == [
        "quality_problem"
    ]


async def test_a_no_reason_return_inside_the_window_is_the_customers_to_ship(
    returns: Runtime,
) -> None:
    order_id = await delivered_order(returns, days_ago=6.9)

    response = await ask(returns, order_id, {"reason": "changed_mind", "lines": [CUP_1]})

    assert response.status_code == 201, response.text
    assert response.json()["return_shipping_paid_by"] == "customer"


async def test_asking_for_more_than_was_paid_is_refused_and_writes_nothing(
    returns: Runtime, tail: TopicTail
) -> None:
    order_id = await delivered_order(returns, days_ago=1)

    response = await ask(
        returns,
        order_id,
        {"reason": "price_dropped", "amount": {"amount": 13_001, "currency": "CNY"}},
    )

    assert response.status_code == 422
    error = response.json()
    assert (error["error"], error["field"]) == ("over_refund", "amount")
    assert "13000" in error["message"]
    assert await listed(returns, order_id) == []
    too_many = await ask(
        returns, order_id, {"reason": "damaged", "lines": [{"line_id": "l1", "quantity": 3}]}
    )
    assert too_many.status_code == 422 and too_many.json()["field"] == "lines[0].quantity"
    assert not seen(tail, order_id, "RefundRequested")


async def test_part_refunded_then_the_rest_and_never_more(
    returns: Runtime, tail: TopicTail
) -> None:
    order_id = await delivered_order(returns, days_ago=1)
    first = (await ask(returns, order_id, {"reason": "damaged", "lines": [TEA_1]})).json()
    await operate(returns, first["id"], "return-received")
    await send(returns, refund_paid(first["id"], 5_000), order_id)
    await until_status(returns, first["id"], order_id, "refunded")

    rest = await ask(returns, order_id, {"reason": "changed_mind"})

    assert rest.status_code == 201, rest.text
    body = rest.json()
    assert body["amount"]["amount"] == 8_000, "the whole order is what was paid minus refunded"
    assert {(ln["line_id"], ln["quantity"]) for ln in body["lines"]} == {("l1", 1), ("l2", 1)}
    await operate(returns, body["id"], "return-received")
    await send(returns, refund_paid(body["id"], 8_000), order_id)
    await until_status(returns, body["id"], order_id, "refunded")
    more = await ask(returns, order_id, {"reason": "damaged", "lines": [CUP_1]})
    assert more.status_code == 422 and more.json()["error"] == "over_refund"
    approved = await payloads(tail, order_id, "RefundApproved", count=2)
    assert sum(event["amount"]["amount"] for event in approved) == 13_000


async def test_two_requests_racing_for_the_same_line_open_one(returns: Runtime) -> None:
    order_id = await delivered_order(returns, days_ago=1)

    responses = await asyncio.gather(
        *(
            ask(returns, order_id, {"reason": "damaged", "lines": [CUP_1]}, key=f"k{i}")
            for i in range(4)
        )
    )

    codes = sorted(r.status_code for r in responses)
    assert codes == [201, 409, 409, 409]
    conflict = next(r for r in responses if r.status_code == 409).json()
    assert conflict["error"] == "line_has_open_request"
    assert len(await listed(returns, order_id)) == 1
    other_line = await ask(returns, order_id, {"reason": "damaged", "lines": [TEA_1]})
    assert other_line.status_code == 201, "another line is free"


async def test_the_same_idempotency_key_is_the_same_request(
    returns: Runtime, tail: TopicTail
) -> None:
    order_id = await delivered_order(returns, days_ago=1)
    body = {"reason": "wrong_item", "lines": [TEA_1]}

    responses = await asyncio.gather(
        *(ask(returns, order_id, body, key="same-key") for _ in range(3))
    )

    assert sorted(r.status_code for r in responses) == [200, 200, 201]
    assert len({r.json()["id"] for r in responses}) == 1
    [event] = await payloads(tail, order_id, "RefundRequested")
    assert event["refund_request_id"] == responses[0].json()["id"]
    assert len(await listed(returns, order_id)) == 1


async def test_a_rejected_request_says_why_and_frees_its_line(
    returns: Runtime, tail: TopicTail
) -> None:
    order_id = await delivered_order(returns, days_ago=2)
    first = (await ask(returns, order_id, {"reason": "quality_problem", "lines": [CUP_1]})).json()

    rejected = await operate(
        returns, first["id"], "reject", {"reason": "the photo shows no defect"}
    )

    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "rejected"
    [event] = await payloads(tail, order_id, "RefundRejected")
    assert (event["reason"], event["actor"]) == ("the photo shows no defect", "operations")
    found = await fetch(returns, first["id"], order_id)
    last = found["steps"][-1]
    assert (last["actor"], last["action"]) == ("operations", "rejected")
    assert last["details"] == {"reason": "the photo shows no defect"}
    late = await operate(returns, first["id"], "return-received")
    assert late.status_code == 409 and late.json()["state"] == "rejected"
    again = await ask(returns, order_id, {"reason": "changed_mind", "lines": [CUP_1]})
    assert again.status_code == 201, "a rejected request no longer holds its line"
    no_reason = await operate(returns, again.json()["id"], "reject", {})
    assert no_reason.status_code == 422 and no_reason.json()["fields"][0]["field"] == "reason"
