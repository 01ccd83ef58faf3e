"""Refunds approved by returns: paid through the provider, capped, once, retried on failure."""

from __future__ import annotations

import httpx

from shared.contracts.envelope import Envelope, Money
from shared.contracts.events.common import LineQuantity, PaymentMethod
from shared.contracts.events.returns import RefundApproved, RefundFlow
from shared.runtime import Runtime
from tests.integration.payment.conftest import (
    assert_balanced,
    callback,
    deliver,
    new_order_id,
    outbox_types,
    placed,
    published,
    send,
    view,
    view_when,
)
from tests.support.infra import Infra
from tests.support.kafka import TopicTail, publish
from tests.support.polling import eventually


def approved(refund_request_id: str, amount: int) -> RefundApproved:
    return RefundApproved(
        refund_request_id=refund_request_id,
        flow=RefundFlow.NO_RETURN,
        lines=(LineQuantity(line_id="l1", sku="TEA-1", quantity=1),),
        amount=Money(amount=amount, currency="CNY"),
        actor="operations",
    )


async def paid_order(infra: Infra, client: httpx.AsyncClient, tail: TopicTail, amount: int) -> str:
    order_id = new_order_id()
    await send(infra, placed(PaymentMethod.CARD, amount=amount), order_id)
    [requested] = await published(tail, order_id, "PaymentRequested")
    assert (await deliver(client, callback(order_id, requested, "succeeded"))).status_code == 200
    await published(tail, order_id, "PaymentSucceeded")
    return order_id


async def approve(infra: Infra, order_id: str, event: RefundApproved) -> Envelope:
    return await send(infra, event, order_id, producer="returns")


async def all_handled(runtime: Runtime, envelopes: list[Envelope]) -> None:
    ids = [str(e.event_id) for e in envelopes]

    async def probe() -> bool:
        async with runtime.db.acquire() as conn:
            seen = await conn.fetchval("SELECT count(*) FROM inbox WHERE message_id = ANY($1)", ids)
        return int(seen) == len(ids)

    await eventually(probe, what="every approval handled")


async def test_partial_refunds_are_capped_and_each_approval_refunds_once(
    infra: Infra, payment: Runtime, client: httpx.AsyncClient, tail: TopicTail
) -> None:
    order_id = await paid_order(infra, client, tail, amount=10_000)
    first = await approve(infra, order_id, approved("rr_1", 3_000))
    await publish(infra.bootstrap, first)  # redelivered
    again = await approve(infra, order_id, approved("rr_1", 3_000))  # approved twice
    [paid] = await published(tail, order_id, "RefundPaid")
    assert (paid["refund_request_id"], paid["amount"]["amount"]) == ("rr_1", 3_000)
    assert (paid["reason"], paid["requested_amount"]) == ("no_return", None)
    partly = await view_when(client, order_id, "partially_refunded")
    assert (partly["refunded"], partly["net"]) == (3_000, 7_000)

    beyond = await approve(infra, order_id, approved("rr_2", 9_000))
    [_, capped] = await published(tail, order_id, "RefundPaid", count=2)
    assert capped["refund_request_id"] == "rr_2"
    assert capped["amount"]["amount"] == 7_000, "never more than captured minus refunded"
    assert capped["requested_amount"]["amount"] == 9_000

    nothing_left = await approve(infra, order_id, approved("rr_3", 100))
    [refused] = await published(tail, order_id, "RefundFailed")
    assert (refused["refund_request_id"], refused["reason"]) == ("rr_3", "nothing_left_to_refund")
    assert refused["will_retry"] is False
    await all_handled(payment, [first, again, beyond, nothing_left])

    assert await outbox_types(payment, order_id) == [
        "PaymentRequested",
        "PaymentSucceeded",
        "RefundPaid",
        "RefundPaid",
        "RefundFailed",
    ]
    body = await view(client, order_id)
    assert (body["status"], body["captured"], body["refunded"], body["net"]) == (
        "refunded",
        10_000,
        10_000,
        0,
    )
    assert [(e["kind"], e["amount"]) for e in body["ledger"]] == [
        ("charge", 10_000),
        ("refund", 3_000),
        ("refund", 7_000),
    ]
    assert_balanced(body)


async def test_a_refund_the_provider_cannot_pay_yet_is_retried_until_paid(
    infra: Infra, payment: Runtime, client: httpx.AsyncClient, tail: TopicTail
) -> None:
    order_id = await paid_order(infra, client, tail, amount=6_000)
    down = await client.post("/sandbox/refund-failures", json={"count": 2})
    assert down.status_code == 202
    await approve(infra, order_id, approved("rr_retry", 6_000))

    [failed] = await published(tail, order_id, "RefundFailed")
    assert (failed["reason"], failed["will_retry"]) == ("provider_unavailable", True)
    [paid] = await published(tail, order_id, "RefundPaid")
    assert paid["refund_id"] == failed["refund_id"]
    assert paid["amount"]["amount"] == 6_000
    body = await view(client, order_id)
    [refund] = body["refunds"]
    assert (refund["status"], refund["attempts"]) == ("paid", 3)
    assert await outbox_types(payment, order_id) == [
        "PaymentRequested",
        "PaymentSucceeded",
        "RefundFailed",
        "RefundPaid",
    ], "the customer hears of the delay once, then of the refund"
    assert (body["refunded"], body["net"]) == (6_000, 0)
    assert_balanced(body)


async def test_an_approval_for_an_unpaid_order_is_refused(
    infra: Infra, payment: Runtime, client: httpx.AsyncClient, tail: TopicTail
) -> None:
    order_id = new_order_id()
    await send(infra, placed(PaymentMethod.CASH_ON_DELIVERY), order_id)
    await published(tail, order_id, "PaymentRequested")
    await approve(infra, order_id, approved("rr_unpaid", 1_000))
    [refused] = await published(tail, order_id, "RefundFailed")
    assert (refused["reason"], refused["amount"]["amount"]) == ("nothing_captured", 1_000)
    body = await view(client, order_id)
    assert (body["captured"], body["refunded"], body["ledger"]) == (0, 0, [])
