"""Paying an order: every method, through the sandbox provider and its signed callbacks."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from services.payment.providers.sandbox import SandboxProvider
from shared import signing
from shared.contracts.events.common import PaymentMethod
from tests.integration.payment.support import (
    SECRET,
    Payment,
    assert_balanced,
    callback,
    cash_delivered,
    placed,
)
from tests.support.db import until_handled
from tests.support.events import new_order_id
from tests.support.http import customer
from tests.support.polling import eventually

UPFRONT = [
    PaymentMethod.WALLET,
    PaymentMethod.ONLINE_BANKING,
    PaymentMethod.CARD,
    PaymentMethod.PAY_FOR_ME,
]


async def test_each_upfront_method_is_paid_through_the_sandbox_checkout(pay: Payment) -> None:
    orders = {method: new_order_id() for method in UPFRONT}
    for method, order_id in orders.items():
        await pay.send(placed(method, amount=10_000 + len(method)), order_id)

    for method, order_id in orders.items():
        [requested] = await pay.published(order_id, "PaymentRequested")
        assert requested["method"] == method.value
        assert requested["amount"] == {"amount": 10_000 + len(method), "currency": "CNY"}
        assert requested["expires_at"] is not None
        if method == PaymentMethod.PAY_FOR_ME:
            assert requested["checkout_url"] is None
            url = requested["pay_link"]
            assert "/sandbox/pay/" in url
        else:
            assert requested["pay_link"] is None
            url = requested["checkout_url"]
        page = (await pay.http.get(httpx.URL(url).path)).json()  # no credentials: a link
        assert (page["order_id"], page["status"]) == (order_id, "open")
        await pay.complete(url, outcome="succeed")

    for method, order_id in orders.items():
        [paid] = await pay.published(order_id, "PaymentSucceeded")
        assert (paid["method"], paid["provider"]) == (method.value, "sandbox")
        body = await pay.view_when(order_id, "paid")
        assert body["method"] == method.value
        assert (body["captured"], body["refunded"], body["net"]) == (
            10_000 + len(method),
            0,
            body["captured"],
        )
        assert [a["status"] for a in body["attempts"]] == ["succeeded"]
        assert_balanced(body)


async def test_cash_on_delivery_is_paid_once_when_the_courier_collects(pay: Payment) -> None:
    order_id, requested = await pay.checkout(PaymentMethod.CASH_ON_DELIVERY, amount=5_000)
    assert (requested["checkout_url"], requested["pay_link"]) == (None, None)
    assert (await pay.view(order_id))["status"] == "due_on_delivery"

    delivered = cash_delivered("shp_1", "SF1", 5_000)
    first = await pay.send(delivered, order_id)
    await pay.resend(first)  # the same event delivered twice
    second = await pay.send(delivered, order_id)  # reported again

    [paid] = await pay.published(order_id, "PaymentSucceeded")
    assert (paid["method"], paid["provider"]) == ("cash_on_delivery", "courier")
    body = await pay.view_when(order_id, "paid")
    await until_handled(pay.runtime, first, second)
    assert await pay.outbox(order_id) == ["PaymentRequested", "PaymentSucceeded"]
    assert (body["captured"], body["net"]) == (5_000, 5_000)
    assert_balanced(body)


async def test_one_callback_sent_ten_times_charges_once(pay: Payment) -> None:
    order_id, requested = await pay.checkout(PaymentMethod.CARD)
    await pay.complete(requested["checkout_url"], outcome="succeed", repeat=10)
    sandbox = pay.runtime.definition.deps.providers["sandbox"]
    assert isinstance(sandbox, SandboxProvider)
    await eventually(lambda: _idle(sandbox), what="all ten callbacks delivered")

    body = callback(order_id, requested, "succeeded")  # a new event id, replayed ten times
    replies = await asyncio.gather(*(pay.deliver(body) for _ in range(10)))
    effects = sorted(r.json()["effect"] for r in replies)
    assert effects == ["already_applied"] + ["duplicate"] * 9

    await pay.published(order_id, "PaymentSucceeded")
    assert await pay.outbox(order_id) == ["PaymentRequested", "PaymentSucceeded"]
    result = await pay.view(order_id)
    assert (result["status"], result["captured"], len(result["ledger"])) == ("paid", 12_900, 1)
    assert_balanced(result)


async def _idle(sandbox: SandboxProvider) -> bool:
    return sandbox.in_flight == 0


async def test_callbacks_out_of_order_a_failure_after_the_success_changes_nothing(
    pay: Payment,
) -> None:
    order_id, requested = await pay.checkout(PaymentMethod.WALLET)

    success = await pay.deliver(callback(order_id, requested, "succeeded"))
    failure = await pay.deliver(callback(order_id, requested, "failed", reason="bank_limit"))
    again = await pay.deliver(callback(order_id, requested, "succeeded"))

    assert [r.json()["effect"] for r in (success, failure, again)] == [
        "payment",
        "stale_failure",
        "already_applied",
    ]
    await pay.published(order_id, "PaymentSucceeded")
    assert await pay.outbox(order_id) == ["PaymentRequested", "PaymentSucceeded"]
    result = await pay.view(order_id)
    assert (result["status"], result["captured"]) == ("paid", 12_900)


async def test_a_failure_then_a_late_success_of_the_same_session_pays(pay: Payment) -> None:
    order_id, requested = await pay.checkout(PaymentMethod.ONLINE_BANKING)
    await pay.complete(requested["checkout_url"], outcome="fail", reason="wrong_password")
    [failed] = await pay.published(order_id, "PaymentFailed")
    assert (failed["reason"], failed["retry_allowed"]) == ("wrong_password", True)
    assert (await pay.view(order_id))["status"] == "failed"

    await pay.complete(requested["checkout_url"], outcome="succeed", delay_seconds=0.5)
    await pay.published(order_id, "PaymentSucceeded")
    assert (await pay.view(order_id))["status"] == "paid"


async def test_forged_stale_and_unsigned_callbacks_are_refused_and_change_nothing(
    pay: Payment,
) -> None:
    order_id, requested = await pay.checkout(PaymentMethod.CARD)
    body = callback(order_id, requested, "succeeded")

    forged = await pay.deliver(body, secret="not-the-secret")
    stale = await pay.deliver(body, timestamp=1_000_000_000)
    unsigned = await pay.http.post("/v1/webhooks/sandbox", content=body)
    tampered_body = body.replace(b'"amount": 12900', b'"amount": 1')
    tampered = await pay.http.post(
        "/v1/webhooks/sandbox",
        content=tampered_body,
        headers={signing.HEADER: signing.sign(SECRET, body)},
    )

    for response in (forged, stale, unsigned, tampered):
        assert response.status_code == 401, response.text
        assert response.json()["error"] == "invalid_signature"
    result = await pay.view(order_id)
    assert (result["status"], result["captured"], result["ledger"]) == ("awaiting_payment", 0, [])
    assert await pay.outbox(order_id) == ["PaymentRequested"]
    genuine = await pay.deliver(body)
    assert genuine.json()["effect"] == "payment", "the genuine callback still applies after"


async def test_a_signed_callback_for_an_unknown_session_is_not_found(pay: Payment) -> None:
    requested = {
        "checkout_url": "http://127.0.0.1/sandbox/checkout/nope",
        "pay_link": None,
        "attempt_id": "pat_x",
        "amount": {"amount": 1, "currency": "CNY"},
    }
    body = callback(new_order_id(), requested, "succeeded")
    response = await pay.deliver(body)
    assert response.status_code == 404
    malformed = await pay.deliver(json.dumps({"id": "evt_1"}).encode())
    assert malformed.status_code == 422


@pytest.mark.parametrize("credentials", ["none", "other_order"])
async def test_the_payment_is_shown_only_to_the_shop_and_the_order_holder(
    credentials: str,
    pay: Payment,
) -> None:
    order_id, _ = await pay.checkout(PaymentMethod.CARD)
    own = await pay.http.get(f"/v1/orders/{order_id}/payment", headers=customer(order_id))
    assert own.status_code == 200 and own.json()["method"] == "card"
    headers = {} if credentials == "none" else customer(new_order_id())
    refused = await pay.http.get(f"/v1/orders/{order_id}/payment", headers=headers)
    assert refused.status_code == (401 if credentials == "none" else 403)
    unknown = new_order_id()
    missing = await pay.http.get(f"/v1/orders/{unknown}/payment", headers=customer(unknown))
    assert missing.status_code == 404
