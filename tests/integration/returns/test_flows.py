"""The three flows end to end, from a real order's events to the refund paid."""

from __future__ import annotations

from datetime import date, timedelta

from shared.runtime import Runtime
from tests.integration.returns.support import (
    PAID,
    RULE_SECONDS,
    ask,
    fetch,
    operate,
    paid_order,
    refund_paid,
    reserved,
    seed,
    stopped,
    trail,
    until_status,
)
from tests.support.events import new_order_id, now, payloads, send
from tests.support.http import client, customer
from tests.support.kafka import TopicTail


async def test_flow_1_paid_not_shipped_is_approved_once_the_shipment_stops_and_refunded(
    returns: Runtime, tail: TopicTail
) -> None:
    order_id = await paid_order(returns)

    response = await ask(returns, order_id, {"reason": "changed_mind"})

    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["flow"], body["status"]) == ("before_shipping", "requested")
    assert body["amount"] == {"amount": PAID, "currency": "CNY"}
    [requested] = await payloads(tail, order_id, "RefundRequested")
    await send(returns, stopped(body["id"]), order_id)
    [approved] = await payloads(tail, order_id, "RefundApproved")
    assert requested["actor"] == "customer" and requested["return_shipping_paid_by"] is None
    assert approved["flow"] == "before_shipping" and approved["amount"]["amount"] == PAID
    assert {(ln["line_id"], ln["quantity"]) for ln in approved["lines"]} == {("l1", 2), ("l2", 1)}

    await send(returns, refund_paid(body["id"], PAID, refund_id="rf_" + order_id), order_id)
    done = await until_status(returns, body["id"], order_id, "refunded")
    assert trail(done, "rf_" + order_id) == [
        ("customer", "requested"),
        ("system", "shipment_stopped"),
        ("rule", "approved"),
        ("system", "refunded"),
    ]


async def test_flow_2_a_parcel_long_overdue_is_refunded_by_rule_without_return(
    returns: Runtime, tail: TopicTail
) -> None:
    order_id = new_order_id()
    await send(returns, reserved(date.today() - timedelta(days=9)), order_id)
    await seed(returns, order_id, shipped_at=now() - timedelta(days=8))

    response = await ask(returns, order_id, {"reason": "not_received"})

    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["flow"], body["status"]) == ("no_return", "approved")
    [approved] = await payloads(tail, order_id, "RefundApproved")
    assert (approved["actor"], approved["flow"]) == ("rule", "no_return")
    await send(returns, refund_paid(body["id"], PAID), order_id)
    await until_status(returns, body["id"], order_id, "refunded")


async def test_flow_2_a_recent_parcel_is_refunded_by_rule_when_its_time_comes(
    returns: Runtime, tail: TopicTail
) -> None:
    order_id = await paid_order(returns, shipped_at=now())

    response = await ask(
        returns, order_id, {"reason": "lost", "lines": [{"line_id": "l2", "quantity": 1}]}
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["flow"], body["status"]) == ("no_return", "requested")
    assert body["rule_due_at"] is not None
    [approved] = await payloads(tail, order_id, "RefundApproved", timeout=RULE_SECONDS + 15)
    assert (approved["actor"], approved["amount"]["amount"]) == ("rule", 3_000)
    found = await fetch(returns, body["id"], order_id)
    assert found["status"] == "approved"
    assert ("rule", "approved") in trail(found)


async def test_flow_2_a_price_difference_waits_for_operations(
    returns: Runtime, tail: TopicTail
) -> None:
    order_id = await paid_order(returns, shipped_at=now() - timedelta(days=1))

    response = await ask(
        returns, order_id, {"reason": "price_dropped", "amount": {"amount": 800, "currency": "CNY"}}
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["flow"], body["status"]) == ("no_return", "requested")
    approved = await operate(returns, body["id"], "approve", {"note": "price matched"})
    assert approved.status_code == 200, approved.text
    [event] = await payloads(tail, order_id, "RefundApproved")
    assert (event["actor"], event["amount"]["amount"]) == ("operations", 800)
    twice = await operate(returns, body["id"], "approve")
    assert twice.status_code == 409 and twice.json()["error"] == "wrong_state"


async def test_flow_3_a_return_is_refunded_when_the_goods_come_back(
    returns: Runtime, tail: TopicTail
) -> None:
    order_id = await paid_order(
        returns,
        shipped_at=now() - timedelta(days=3),
        delivered_at=now() - timedelta(days=2),
    )

    response = await ask(
        returns,
        order_id,
        {
            "reason": "changed_mind",
            "lines": [{"line_id": "l1", "quantity": 1}],
            "evidence_urls": ["https://img.example/1.jpg"],
        },
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["flow"], body["status"], body["return_shipping_paid_by"]) == (
        "with_return",
        "requested",
        "customer",
    )
    assert body["amount"]["amount"] == 5_000
    early = await operate(returns, body["id"], "return-received")
    assert early.status_code == 200, "operations may record a return that came without a number"
    await payloads(tail, order_id, "ReturnReceived")
    [approved] = await payloads(tail, order_id, "RefundApproved")
    assert (approved["flow"], approved["actor"]) == ("with_return", "operations")
    await send(returns, refund_paid(body["id"], 5_000, refund_id="rf_" + order_id), order_id)
    done = await until_status(returns, body["id"], order_id, "refunded")
    assert trail(done, "rf_" + order_id) == [
        ("customer", "requested"),
        ("operations", "return_received"),
        ("operations", "approved"),
        ("system", "refunded"),
    ]


async def test_flow_3_the_customer_ships_the_return_then_operations_receive_it(
    returns: Runtime, tail: TopicTail
) -> None:
    order_id = await paid_order(
        returns,
        shipped_at=now() - timedelta(days=3),
        delivered_at=now() - timedelta(days=1),
    )
    body = (
        await ask(
            returns, order_id, {"reason": "damaged", "lines": [{"line_id": "l2", "quantity": 1}]}
        )
    ).json()
    assert body["return_shipping_paid_by"] == "shop"

    async with client(returns) as http:
        shipment = {"courier": "yto", "tracking_number": "YT123"}
        url = f"/v1/refund-requests/{body['id']}/return-shipment"
        first = await http.post(url, json=shipment, headers=customer(order_id))
        repeat = await http.post(url, json=shipment, headers=customer(order_id))
    assert first.status_code == 200 and first.json()["status"] == "return_shipped"
    assert repeat.status_code == 200, "the same report twice is one report"
    [shipped] = await payloads(tail, order_id, "ReturnShipped")
    assert shipped["tracking_number"] == "YT123"
    received = await operate(returns, body["id"], "return-received")
    assert received.status_code == 200 and received.json()["status"] == "approved"
    [approved] = await payloads(tail, order_id, "RefundApproved")
    assert approved["amount"]["amount"] == 3_000
    assert (
        len([r for r in tail.records if r.key == order_id.encode() and r.type == "ReturnShipped"])
        == 1
    )
