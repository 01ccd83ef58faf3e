"""Stripe through the official `stripe` package, against stripe-mock (Stripe's own mock of its
API), and its webhooks signed the way Stripe signs them."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio

from deploy.local.stripe_mock import StripeMock
from services.payment.app import build
from services.payment.providers import IgnoredCallback, InvalidCallback, SessionRequest
from services.payment.providers.stripe import SIGNATURE_HEADER, StripeProvider
from services.payment.settings import PaymentSettings
from shared.contracts.envelope import Money
from shared.contracts.events.common import PaymentMethod
from shared.runtime import Runtime
from tests.integration.payment.support import Payment, accepted, approved, new_exchange_id
from tests.support import db
from tests.support.http import client as client_of
from tests.support.infra import Infra
from tests.support.kafka import TopicTail
from tests.support.polling import eventually
from tests.support.stripe import (
    API_KEY,
    WEBHOOK_SECRET,
    RecordingClient,
    checkout_session,
    event,
    signature,
)


def provider(mock: StripeMock, recorder: RecordingClient | None = None) -> StripeProvider:
    return StripeProvider(
        api_key=API_KEY,
        webhook_secret=WEBHOOK_SECRET,
        success_url="https://shop.example/orders/{order_id}",
        api_base=mock.api_base,
        http_client=recorder,
    )


def session_request(order_id: str = "ord_s1", attempt_id: str = "pat_s1") -> SessionRequest:
    expires = datetime.now(UTC) + timedelta(hours=2)
    return SessionRequest(
        order_id, attempt_id, PaymentMethod.CARD, Money(amount=12_900, currency="CNY"), expires
    )


async def test_a_session_is_opened_at_stripe_keyed_by_the_attempt(stripe_mock: StripeMock) -> None:
    recorder = RecordingClient()
    session = await provider(stripe_mock, recorder).create_session(session_request())
    assert session.session_id.startswith("cs_") and session.checkout_url
    [call] = recorder.calls
    assert (call.method, call.path, call.status) == ("post", "/v1/checkout/sessions", 200)
    assert call.idempotency_key == call.echoed_key == "pat_s1"
    p = call.params
    assert (p["metadata[order_id]"], p["metadata[attempt_id]"]) == ("ord_s1", "pat_s1")
    assert p["payment_intent_data[metadata][order_id]"] == "ord_s1"
    assert p["line_items[0][price_data][currency]"] == "cny", "Stripe takes lower-case codes"
    assert p["line_items[0][price_data][unit_amount]"] == "12900", "in minor units"
    assert (p["mode"], p["client_reference_id"]) == ("payment", "pat_s1")
    assert p["success_url"] == "https://shop.example/orders/ord_s1"
    assert int(p["expires_at"]) > time.time() + 3600


async def test_a_refund_is_sent_with_the_refunds_key(stripe_mock: StripeMock) -> None:
    recorder = RecordingClient()
    receipt = await provider(stripe_mock, recorder).refund(
        "pi_3PgafyB7WZ01zgkW", Money(amount=500, currency="CNY"), "rfd_abc"
    )
    assert receipt.reference.startswith("re_")
    [call] = recorder.calls
    assert (call.path, call.status) == ("/v1/refunds", 200)
    assert call.idempotency_key == call.echoed_key == "rfd_abc"
    assert (call.params["payment_intent"], call.params["amount"]) == ("pi_3PgafyB7WZ01zgkW", "500")


async def test_an_open_session_is_still_pending(stripe_mock: StripeMock) -> None:
    assert await provider(stripe_mock).query("cs_test_open", "pat_s1") is None


def test_a_signed_completed_checkout_is_a_success(stripe_mock: StripeMock) -> None:
    obj = checkout_session("cs_1", order_id="ord_1", attempt_id="pat_1", amount=12_900)
    body = event("checkout.session.completed", obj, event_id="evt_1")
    callback = provider(stripe_mock).verify_callback(
        {SIGNATURE_HEADER: signature(WEBHOOK_SECRET, body)}, body
    )
    assert (callback.event_id, callback.session_id, callback.order_id) == ("evt_1", "cs_1", "ord_1")
    assert (callback.outcome, callback.amount) == (
        "succeeded",
        Money(amount=12_900, currency="CNY"),
    )
    assert callback.reference == obj["payment_intent"], "refunds name the Payment Intent"


def test_an_expired_checkout_is_a_failure(stripe_mock: StripeMock) -> None:
    obj = checkout_session(
        "cs_2", order_id="ord_2", attempt_id="pat_2", amount=100, status="expired",
        payment_status="unpaid",
    )  # fmt: skip
    body = event("checkout.session.expired", obj)
    callback = provider(stripe_mock).verify_callback(
        {SIGNATURE_HEADER: signature(WEBHOOK_SECRET, body)}, body
    )
    assert (callback.outcome, callback.reason, callback.reference) == ("failed", "expired", None)


def test_several_v1_signatures_pass_when_one_matches(stripe_mock: StripeMock) -> None:
    obj = checkout_session("cs_3", order_id="ord_3", attempt_id="pat_3", amount=100)
    body = event("checkout.session.completed", obj)
    header = signature(WEBHOOK_SECRET, body, None, "0" * 64)  # a secret being rolled
    assert (
        provider(stripe_mock).verify_callback({SIGNATURE_HEADER: header}, body).order_id == "ord_3"
    )


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(lambda b: signature("whsec_other", b), id="wrong-secret"),
        pytest.param(lambda b: signature(WEBHOOK_SECRET, b, int(time.time()) - 301), id="stale"),
        pytest.param(lambda b: signature(WEBHOOK_SECRET, b + b" "), id="body-changed"),
        pytest.param(lambda b: "t=1,v0=abc", id="no-v1"),
        pytest.param(lambda b: "", id="missing"),
    ],
)
def test_a_callback_not_signed_by_stripe_now_is_refused(
    stripe_mock: StripeMock, header: object
) -> None:
    obj = checkout_session("cs_4", order_id="ord_4", attempt_id="pat_4", amount=100)
    body = event("checkout.session.completed", obj)
    assert callable(header)
    with pytest.raises(InvalidCallback):
        provider(stripe_mock).verify_callback({SIGNATURE_HEADER: header(body)}, body)


@pytest.mark.parametrize(
    ("event_type", "order_id", "payment_status"),
    [
        ("payment_intent.succeeded", "ord_5", "paid"),  # the session's events are the ones acted on
        ("charge.refunded", "ord_5", "paid"),
        ("checkout.session.completed", None, "paid"),  # another application's session
        ("checkout.session.completed", "ord_5", "unpaid"),  # an asynchronous method, pending
    ],
)
def test_other_events_are_acknowledged_and_ignored(
    stripe_mock: StripeMock, event_type: str, order_id: str | None, payment_status: str
) -> None:
    obj = checkout_session(
        "cs_5", order_id=order_id, attempt_id="pat_5", amount=100, payment_status=payment_status
    )
    body = event(event_type, obj)
    with pytest.raises(IgnoredCallback):
        provider(stripe_mock).verify_callback(
            {SIGNATURE_HEADER: signature(WEBHOOK_SECRET, body)}, body
        )


# The payment service paying cards through Stripe (stripe-mock), the rest through the sandbox.


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stripe_payment(infra: Infra, stripe_mock: StripeMock) -> AsyncIterator[Runtime]:
    from tests.support.services import service

    dsn = await infra.create_database("payment_stripe")
    async with service(
        build,
        PaymentSettings,
        infra,
        dsn,
        providers_by_method={"card": "stripe"},
        stripe_api_key=API_KEY,
        stripe_webhook_secret=WEBHOOK_SECRET,
        stripe_api_base=stripe_mock.api_base,
        effects_lease_seconds=1.0,
        effects_poll_seconds=0.2,
        reconcile_every_seconds=0.3,
        reconcile_after_seconds=0.5,
    ) as runtime:
        yield runtime


@pytest_asyncio.fixture(loop_scope="session")
async def through_stripe(
    infra: Infra, stripe_payment: Runtime, tail: TopicTail
) -> AsyncIterator[Payment]:
    async with client_of(stripe_payment) as http:
        yield Payment(infra, stripe_payment, http, tail)


async def session_id_of(pay: Payment, attempt_id: str) -> str:
    [row] = await db.rows(
        pay.runtime, "SELECT provider, session_id FROM attempts WHERE attempt_id = $1", attempt_id
    )
    assert row["provider"] == "stripe"
    return str(row["session_id"])


async def post_event(
    pay: Payment, body: bytes, secret: str = WEBHOOK_SECRET
) -> tuple[int, dict[str, str]]:
    headers = {SIGNATURE_HEADER: signature(secret, body), "Content-Type": "application/json"}
    response = await pay.http.post("/v1/webhooks/stripe", content=body, headers=headers)
    return response.status_code, response.json()


async def test_a_card_order_is_paid_and_refunded_through_stripe(through_stripe: Payment) -> None:
    pay = through_stripe
    order_id, request = await pay.checkout(PaymentMethod.CARD, amount=12_900)
    assert request["checkout_url"].startswith("https://checkout.stripe.com/")
    session_id = await session_id_of(pay, request["attempt_id"])
    obj = checkout_session(
        session_id, order_id=order_id, attempt_id=request["attempt_id"], amount=12_900
    )

    assert await post_event(pay, event("payment_intent.succeeded", obj)) == (
        200, {"status": "ignored", "effect": "none"},
    )  # fmt: skip
    assert (await post_event(pay, event("checkout.session.completed", obj), "whsec_x"))[0] == 401
    status, reply = await post_event(
        pay, event("checkout.session.completed", obj, event_id="evt_p1")
    )
    assert (status, reply["effect"]) == (200, "payment")
    [succeeded] = await pay.published(order_id, "PaymentSucceeded")
    assert succeeded["provider_reference"] == obj["payment_intent"]

    await pay.send(approved("rr_stripe_1", 4_000), order_id)
    [paid] = await pay.published(order_id, "RefundPaid")
    assert paid["amount"]["amount"] == 4_000
    view = await pay.view_when(order_id, "partially_refunded")
    [refund] = [e for e in view["ledger"] if e["kind"] == "refund"]
    assert (refund["provider"], refund["amount"]) == ("stripe", 4_000)
    assert refund["provider_reference"].startswith("re_"), "paid by Stripe"


async def test_other_methods_keep_their_own_provider(through_stripe: Payment) -> None:
    _, request = await through_stripe.checkout(PaymentMethod.WALLET)
    assert "/sandbox/checkout/" in request["checkout_url"]


async def test_a_closed_session_is_expired_at_stripe(stripe_mock: StripeMock) -> None:
    recorder = RecordingClient()
    await provider(stripe_mock, recorder).close_session("cs_test_x1", "pxc_s1")
    [call] = recorder.calls
    assert (call.method, call.path, call.status) == (
        "post",
        "/v1/checkout/sessions/cs_test_x1/expire",
        200,
    )


async def test_an_exchange_of_a_card_order_is_charged_through_stripe(
    through_stripe: Payment,
) -> None:
    pay = through_stripe
    order_id, request = await pay.checkout(PaymentMethod.CARD, amount=12_900)
    order_session = await session_id_of(pay, request["attempt_id"])
    paid = checkout_session(
        order_session, order_id=order_id, attempt_id=request["attempt_id"], amount=12_900
    )
    assert (await post_event(pay, event("checkout.session.completed", paid)))[0] == 200
    await pay.published(order_id, "PaymentSucceeded")

    exchange_id = new_exchange_id()
    await pay.send(accepted(exchange_id, 3_000), order_id)
    [requested] = await pay.published(order_id, "ExchangePaymentRequested")
    assert requested["checkout_url"].startswith("https://checkout.stripe.com/")
    [row] = await db.rows(
        pay.runtime,
        "SELECT provider, session_id FROM exchange_charges WHERE exchange_id = $1",
        exchange_id,
    )
    assert row["provider"] == "stripe" and row["session_id"] != order_session
    captured = checkout_session(
        row["session_id"], order_id=order_id, attempt_id=requested["attempt_id"], amount=3_000
    )
    completed = event("checkout.session.completed", captured, event_id=f"evt_{exchange_id}")
    assert await post_event(pay, completed) == (200, {"status": "accepted", "effect": "exchange"})
    assert (await post_event(pay, completed))[1]["effect"] == "duplicate"
    [succeeded] = await pay.published(order_id, "ExchangePaymentSucceeded")
    assert succeeded["provider_reference"] == captured["payment_intent"]
    body = await pay.view(order_id)
    assert (body["paid_attempt_id"], body["captured"]) == (request["attempt_id"], 15_900)
    assert await pay.outbox(order_id) == [
        "PaymentRequested",
        "PaymentSucceeded",
        "ExchangePaymentRequested",
        "ExchangePaymentSucceeded",
    ]


async def test_an_exchange_session_open_at_stripe_is_asked_and_left_pending(
    through_stripe: Payment,
) -> None:
    """stripe-mock answers every Checkout Session as open and unpaid: reconciliation asks
    Stripe by the exchange's own session and attempt, and changes nothing."""
    pay = through_stripe
    order_id, request = await pay.checkout(PaymentMethod.CARD, amount=12_900)
    order_session = await session_id_of(pay, request["attempt_id"])
    paid = checkout_session(
        order_session, order_id=order_id, attempt_id=request["attempt_id"], amount=12_900
    )
    assert (await post_event(pay, event("checkout.session.completed", paid)))[0] == 200
    exchange_id = new_exchange_id()
    await pay.send(accepted(exchange_id, 1_000), order_id)
    [requested] = await pay.published(order_id, "ExchangePaymentRequested")

    async def asked() -> dict[str, object] | None:
        [row] = await db.rows(
            pay.runtime,
            """SELECT provider, session_id, status, provider_state, checked_at
               FROM exchange_charges WHERE exchange_id = $1""",
            exchange_id,
        )
        return row if row["checked_at"] is not None else None

    row = await eventually(asked, what="the exchange's session asked of Stripe")
    assert (row["provider"], row["status"], row["provider_state"]) == ("stripe", "open", "pending")
    stripe_provider = pay.runtime.deps.providers["stripe"]  # what it was asked, answered
    assert await stripe_provider.query(str(row["session_id"]), requested["attempt_id"]) is None
    assert (await pay.outbox(order_id))[-1] == "ExchangePaymentRequested"
