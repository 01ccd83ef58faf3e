"""Stripe failing: it answers 500, rate-limits, times out, or succeeds and the answer is lost.

Every call is retried with the same idempotency key until it is answered, so no refund or
session is made twice; after the last attempt the call is set aside, failed, with the
reason, and the outcome published. Stripe here is a local server speaking its API and
error bodies (tests/support/stripe_server.py) that, like Stripe, replays a repeated key.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from services.payment.app import build
from services.payment.providers.stripe import SIGNATURE_HEADER
from services.payment.settings import PaymentSettings
from shared.contracts.events.common import PaymentMethod
from shared.runtime import Runtime
from tests.integration.payment.support import Payment, approved
from tests.support import db
from tests.support.http import client as client_of
from tests.support.infra import Infra
from tests.support.kafka import TopicTail
from tests.support.polling import eventually
from tests.support.services import service
from tests.support.stripe import API_KEY, WEBHOOK_SECRET, checkout_session, event, signature
from tests.support.stripe_server import FaultyStripe

pytestmark = [pytest.mark.fault]
REFUNDS, SESSIONS = "/v1/refunds", "/v1/checkout/sessions"
MAX_ATTEMPTS = 3


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stripe_api() -> AsyncIterator[FaultyStripe]:
    server = await FaultyStripe(hang_seconds=2.0).start()
    try:
        yield server
    finally:
        await server.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def faulty_payment(infra: Infra, stripe_api: FaultyStripe) -> AsyncIterator[Runtime]:
    dsn = await infra.create_database("payment_stripe_faults")
    async with service(
        build,
        PaymentSettings,
        infra,
        dsn,
        providers_by_method={"card": "stripe"},
        stripe_api_key=API_KEY,
        stripe_webhook_secret=WEBHOOK_SECRET,
        stripe_api_base=stripe_api.api_base,
        stripe_timeout_seconds=0.5,
        refund_retry_base_seconds=0.2,
        refund_retry_max_seconds=0.4,
        refund_max_attempts=MAX_ATTEMPTS,
        effects_lease_seconds=3.0,  # beyond the client's timeout: one call at a time
        effects_poll_seconds=0.2,
    ) as runtime:
        yield runtime


@pytest_asyncio.fixture(loop_scope="session")
async def pay(infra: Infra, faulty_payment: Runtime, tail: TopicTail) -> AsyncIterator[Payment]:
    async with client_of(faulty_payment) as http:
        yield Payment(infra, faulty_payment, http, tail)


async def paid_through_stripe(pay: Payment, amount: int = 10_000) -> str:
    """An order paid by card: its session opened at Stripe, Stripe's signed event posted."""
    order_id, request = await pay.checkout(PaymentMethod.CARD, amount=amount)
    [row] = await db.rows(
        pay.runtime, "SELECT session_id FROM attempts WHERE attempt_id = $1", request["attempt_id"]
    )
    obj = checkout_session(
        row["session_id"], order_id=order_id, attempt_id=request["attempt_id"], amount=amount
    )
    body = event("checkout.session.completed", obj)
    headers = {SIGNATURE_HEADER: signature(WEBHOOK_SECRET, body)}
    reply = await pay.http.post("/v1/webhooks/stripe", content=body, headers=headers)
    assert reply.status_code == 200, reply.text
    await pay.published(order_id, "PaymentSucceeded")
    return order_id


async def refunded_once(pay: Payment, order_id: str, stripe: FaultyStripe, before: int) -> None:
    """The refund is paid, published once, in the ledger once, and Stripe made one refund
    though it was asked more than once, each time with the same key."""
    [paid] = await pay.published(order_id, "RefundPaid")
    assert paid["amount"]["amount"] == 2_500
    view = await pay.view_when(order_id, "partially_refunded")
    ledger = [e for e in view["ledger"] if e["kind"] == "refund"]
    assert len(ledger) == 1 and (await pay.outbox(order_id)).count("RefundPaid") == 1
    calls = stripe.calls(REFUNDS)[before:]
    assert len(calls) >= 2, "retried"
    assert len({c.idempotency_key for c in calls}) == 1, "always the same key"
    made = [r for r in stripe.refunds() if r["metadata"]["refund_id"] == calls[0].idempotency_key]
    assert [r["id"] for r in made] == [ledger[0]["provider_reference"]], "one refund at Stripe"


@pytest.mark.parametrize("fault", ["500", "hang", "lost"])
async def test_a_refund_stripe_did_not_answer_is_retried_with_its_key_and_paid_once(
    pay: Payment, stripe_api: FaultyStripe, fault: str
) -> None:
    order_id = await paid_through_stripe(pay)
    before = len(stripe_api.calls(REFUNDS))
    stripe_api.fail_next(REFUNDS, fault)
    await pay.send(approved(f"rr_{fault}_{order_id}", 2_500), order_id)
    await refunded_once(pay, order_id, stripe_api, before)
    if fault == "lost":
        assert [c.answered for c in stripe_api.calls(REFUNDS)[before:]] == ["lost", "ok"]


async def test_a_rate_limited_refund_waits_as_long_as_stripe_asked(
    pay: Payment, stripe_api: FaultyStripe
) -> None:
    order_id = await paid_through_stripe(pay)
    before = len(stripe_api.calls(REFUNDS))
    stripe_api.fail_next(REFUNDS, "429")  # Retry-After: 1, longer than the 0.2 s backoff
    await pay.send(approved(f"rr_429_{order_id}", 2_500), order_id)
    await refunded_once(pay, order_id, stripe_api, before)
    first, second = stripe_api.calls(REFUNDS)[before : before + 2]
    assert second.at - first.at >= 1.0


async def test_a_refund_still_failing_after_the_last_attempt_is_set_aside_with_its_reason(
    pay: Payment, stripe_api: FaultyStripe
) -> None:
    order_id = await paid_through_stripe(pay)
    before = len(stripe_api.calls(REFUNDS))
    stripe_api.fail_next(REFUNDS, *["500"] * MAX_ATTEMPTS)
    await pay.send(approved(f"rr_down_{order_id}", 2_500), order_id)

    async def given_up() -> list[dict[str, Any]]:
        found = await pay.published(order_id, "RefundFailed", count=1)
        return [f for f in found if f["will_retry"] is False]

    [failed] = await eventually(given_up, what="the refund given up")
    assert failed["reason"] == "provider_unavailable:500"
    assert len(stripe_api.calls(REFUNDS)[before:]) == MAX_ATTEMPTS
    key = stripe_api.calls(REFUNDS)[before].idempotency_key
    rows = await db.rows(
        pay.runtime,
        "SELECT status, attempts, last_error FROM effects WHERE kind = 'refund' AND key = $1",
        key,
    )
    assert rows == [
        {"status": "failed", "attempts": MAX_ATTEMPTS, "last_error": "provider_unavailable:500"}
    ]
    assert key not in stripe_api.made, "no refund made at Stripe"
    view = await pay.view(order_id)
    assert view["refunded"] == 0 and view["refunds"][0]["status"] == "failed"


@pytest.mark.parametrize("fault", ["500", "lost"])
async def test_a_session_stripe_did_not_answer_is_opened_once_with_the_attempts_key(
    pay: Payment, stripe_api: FaultyStripe, fault: str
) -> None:
    before = len(stripe_api.calls(SESSIONS))
    stripe_api.fail_next(SESSIONS, fault)
    order_id, request = await pay.checkout(PaymentMethod.CARD)
    # the sessions of orders other tests placed on the shared topics may be opened meanwhile
    key = request["attempt_id"]
    calls = [c for c in stripe_api.calls(SESSIONS)[before:] if c.idempotency_key == key]
    assert [c.answered for c in calls] == [fault, "ok"]
    made = stripe_api.made[request["attempt_id"]]
    assert request["checkout_url"] == made["url"], "the session Stripe made, once"
    assert (await pay.outbox(order_id)).count("PaymentRequested") == 1
