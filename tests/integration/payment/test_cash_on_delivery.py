"""Cash on delivery needs no provider: the courier's delivery report settles the order with
what was collected, and a collection that differs from what was due is flagged for
operations, once however often the report comes."""

from __future__ import annotations

from typing import Any

from shared.contracts.events.common import PaymentMethod
from shared.contracts.events.order import OrderRefused
from tests.integration.payment.support import Payment, assert_balanced, cash_delivered
from tests.support.db import until_handled
from tests.support.http import OPS, SHOP


async def mismatches(pay: Payment, order_id: str) -> list[dict[str, Any]]:
    response = await pay.http.get("/v1/ops/cod-mismatches", headers=OPS)
    assert response.status_code == 200, response.text
    return [m for m in response.json()["mismatches"] if m["order_id"] == order_id]


async def test_the_exact_amount_settles_the_order(pay: Payment) -> None:
    order_id, _ = await pay.checkout(PaymentMethod.CASH_ON_DELIVERY, amount=5_000)
    report = await pay.send(cash_delivered("shp_exact", "SF10", 5_000), order_id)

    [paid] = await pay.published(order_id, "PaymentSucceeded")
    assert (paid["amount"], paid["provider"]) == ({"amount": 5_000, "currency": "CNY"}, "courier")
    body = await pay.view_when(order_id, "paid")
    await until_handled(pay.runtime, report)
    assert [(e["purpose"], e["amount"]) for e in body["ledger"]] == [("payment", 5_000)]
    assert_balanced(body)
    assert await pay.outbox(order_id) == ["PaymentRequested", "PaymentSucceeded"]
    assert await mismatches(pay, order_id) == []


async def test_a_short_collection_is_recorded_and_flagged_once(pay: Payment) -> None:
    order_id, requested = await pay.checkout(PaymentMethod.CASH_ON_DELIVERY, amount=5_000)
    report = await pay.send(cash_delivered("shp_short", "SF11", 4_200), order_id)
    await pay.resend(report)  # the same report delivered twice
    again = await pay.send(cash_delivered("shp_short", "SF11", 4_200), order_id)  # sent again

    [flagged] = await pay.published(order_id, "CashCollectionMismatch")
    assert flagged == {
        "attempt_id": requested["attempt_id"],
        "shipment_id": "shp_short",
        "kind": "short",
        "due": {"amount": 5_000, "currency": "CNY"},
        "collected": {"amount": 4_200, "currency": "CNY"},
        "delivered_at": flagged["delivered_at"],
    }
    body = await pay.view_when(order_id, "paid")  # the parcel is with the customer
    await until_handled(pay.runtime, report, again)
    assert [(e["purpose"], e["amount"]) for e in body["ledger"]] == [("payment", 4_200)]
    assert (body["captured"], body["refunded"]) == (4_200, 0)
    assert await pay.outbox(order_id) == [
        "PaymentRequested",
        "PaymentSucceeded",
        "CashCollectionMismatch",
    ]
    [listed] = await mismatches(pay, order_id)
    assert (listed["kind"], listed["due"]["amount"], listed["collected"]["amount"]) == (
        "short",
        5_000,
        4_200,
    )
    assert listed["shipment_id"] == "shp_short"


async def test_a_duplicate_report_settles_and_flags_once(pay: Payment) -> None:
    order_id, _ = await pay.checkout(PaymentMethod.CASH_ON_DELIVERY, amount=5_000)
    over = cash_delivered("shp_over", "SF12", 5_500)
    first = await pay.send(over, order_id)
    second = await pay.send(over, order_id)
    await pay.resend(first, second)

    await pay.published(order_id, "CashCollectionMismatch")
    await until_handled(pay.runtime, first, second)
    assert await pay.outbox(order_id) == [
        "PaymentRequested",
        "PaymentSucceeded",
        "CashCollectionMismatch",
    ]
    body = await pay.view(order_id)
    assert [(e["purpose"], e["amount"]) for e in body["ledger"]] == [("payment", 5_500)]
    assert [m["kind"] for m in await mismatches(pay, order_id)] == ["over"]


async def test_nothing_collected_pays_nothing_and_is_flagged(pay: Payment) -> None:
    order_id, _ = await pay.checkout(PaymentMethod.CASH_ON_DELIVERY, amount=5_000)
    report = await pay.send(cash_delivered("shp_none", "SF13", 0), order_id)

    [flagged] = await pay.published(order_id, "CashCollectionMismatch")
    assert (flagged["kind"], flagged["collected"]["amount"]) == ("short", 0)
    await until_handled(pay.runtime, report)
    assert await pay.outbox(order_id) == ["PaymentRequested", "CashCollectionMismatch"]
    body = await pay.view(order_id)
    assert (body["status"], body["ledger"]) == ("due_on_delivery", [])


async def test_the_mismatches_are_for_operations_only(pay: Payment) -> None:
    assert (await pay.http.get("/v1/ops/cod-mismatches")).status_code == 401
    assert (await pay.http.get("/v1/ops/cod-mismatches", headers=SHOP)).status_code == 403
    bad = await pay.http.get("/v1/ops/cod-mismatches?limit=0", headers=OPS)
    assert bad.status_code == 422 and "limit" in bad.text


async def test_a_refused_parcel_ends_the_payment_uncharged_and_late_cash_is_not_paid(
    pay: Payment,
) -> None:
    order_id, requested = await pay.checkout(PaymentMethod.CASH_ON_DELIVERY, amount=5_000)
    refused = await pay.send(OrderRefused(reason="refused", was_paid=False), order_id)
    body = await pay.view_when(order_id, "not_charged")
    await until_handled(pay.runtime, refused)
    assert body["order_ended"] == "refused" and body["ledger"] == []
    assert [a["status"] for a in body["attempts"]] == ["expired"], "the courier collects nothing"

    # a courier's cash report after the refusal (should never come): told as a late
    # payment, as for any ended order, refunded in full and never paid
    late = await pay.send(cash_delivered("shp_refused", "SF14", 5_000), order_id)
    [refund] = await pay.published(order_id, "RefundPaid")
    assert (refund["reason"], refund["amount"]["amount"]) == ("late_payment", 5_000)
    await until_handled(pay.runtime, late)
    assert await pay.outbox(order_id) == ["PaymentRequested", "PaymentSucceeded", "RefundPaid"]
    after = await pay.view(order_id)
    assert (after["status"], after["paid_attempt_id"], after["net"]) == ("not_charged", None, 0)
    assert [a["attempt_id"] for a in after["attempts"]] == [requested["attempt_id"]]
    assert [(e["purpose"], e["amount"]) for e in after["ledger"]] == [
        ("late_payment", 5_000),
        ("late_payment", 5_000),
    ]
