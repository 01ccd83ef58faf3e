"""A card order paid and refunded through Stripe (stripe-mock), the whole system as processes.

The test plays the shopper (through the shop's edges) and Stripe itself: it reads the
Checkout Session payment opened at stripe-mock, and posts Stripe's signed
`checkout.session.completed` for it to payment's webhook, as Stripe would once paid.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from deploy.demo.shop import Edges, Shop, order_body
from deploy.local.stack import SERVICES
from deploy.local.stripe_mock import StripeMock
from tests.e2e.conftest import E2E_ENV
from tests.e2e.journeys import Driver
from tests.support.infra import Infra
from tests.support.polling import eventually
from tests.support.stripe import API_KEY, WEBHOOK_SECRET, checkout_session, event, signature
from tests.support.system import start_system

SKU = {"sku": "E2E-STRIPE-CUP", "name": "Espresso cup", "variant": None, "price": 3900}


@pytest.fixture(scope="module")
async def stripe_system(infra: Infra, stripe_mock: StripeMock) -> AsyncIterator[dict[str, Any]]:
    databases = {name: await infra.create_database(f"e2e_stripe_{name}") for name in SERVICES}
    env = {
        **E2E_ENV,
        "PAYMENT_PROVIDERS_BY_METHOD": '{"card": "stripe"}',
        "PAYMENT_STRIPE_API_KEY": API_KEY,
        "PAYMENT_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "PAYMENT_STRIPE_API_BASE": stripe_mock.api_base,
    }
    stack, state = await start_system(infra, env, databases)
    try:
        yield {**state, "databases": databases}
    finally:
        stack.stop_processes()


async def session_of(dsn: str, order_id: str) -> dict[str, Any] | None:
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(
            "SELECT attempt_id, provider, session_id FROM attempts"
            " WHERE order_id = $1 AND session_id IS NOT NULL",
            order_id,
        )
    finally:
        await conn.close()
    return dict(row) if row else None


async def test_a_card_order_is_paid_shipped_and_refunded_through_stripe(
    stripe_system: dict[str, Any],
) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        shop = Shop(Edges.from_stack(stripe_system), client)
        d = Driver(shop)
        await shop.put_stock(SKU["sku"], 100)
        body = order_body(random.Random(17), "card", (SKU,), lines=1, quantity=2)
        order_id = (await shop.place_order(body))["order_id"]

        checkout_url = await d.checkout(order_id)
        assert checkout_url.startswith("https://checkout.stripe.com/"), "Stripe's hosted page"
        dsn = stripe_system["databases"]["payment"]
        opened = await eventually(lambda: session_of(dsn, order_id), what="session at Stripe")
        assert opened["provider"] == "stripe" and opened["session_id"].startswith("cs_")

        order = await d.order(order_id)
        total = order["totals"]["total"]
        paid = checkout_session(
            opened["session_id"],
            order_id=order_id,
            attempt_id=opened["attempt_id"],
            amount=total["amount"],
            currency=total["currency"].lower(),
        )
        completed = event("checkout.session.completed", paid)
        reply = await client.post(
            f"{shop.edges.payment}/v1/webhooks/stripe",
            content=completed,
            headers={"Stripe-Signature": signature(WEBHOOK_SECRET, completed)},
        )
        assert reply.status_code == 200, reply.text

        shipped = await d.status(order_id, "shipped")
        parcel = shipped["shipment"]
        await shop.advance_parcel(parcel["courier"], parcel["tracking_number"])
        request = await shop.request_refund(order_id, "not_received")
        if request["status"] == "requested":  # the delivery promise is still ahead
            await shop.approve_refund(request.get("refund_request_id") or request["id"])
        await d.status(order_id, "refunded")

        payment = await d.payment(order_id)
        [charge] = [e for e in payment["ledger"] if e["kind"] == "charge"]
        [refund] = [e for e in payment["ledger"] if e["kind"] == "refund"]
        assert (charge["provider"], charge["provider_reference"]) == (
            "stripe", paid["payment_intent"],
        )  # fmt: skip
        assert refund["provider"] == "stripe" and refund["provider_reference"].startswith("re_")
        assert refund["amount"] == charge["amount"] == total["amount"]
        assert (payment["status"], payment["net"]) == ("refunded", 0)
