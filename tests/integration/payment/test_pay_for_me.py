"""Pay-for-me through a real provider (Stripe, against stripe-mock): the customer shares our
short signed link; whoever opens it lands on the provider's page of the live session, a
new one once the last ended, and a friend's payment pays the order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest_asyncio

from deploy.local.stripe_mock import StripeMock
from services.payment.app import build
from services.payment.settings import PaymentSettings
from shared.contracts.events.common import PaymentMethod
from shared.contracts.events.order import OrderClosed
from shared.runtime import Runtime
from tests.integration.payment.support import Payment
from tests.support import db
from tests.support.http import SHOP
from tests.support.http import client as client_of
from tests.support.infra import Infra
from tests.support.kafka import TopicTail
from tests.support.stripe import API_KEY, WEBHOOK_SECRET, checkout_session, event, signature


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stripe_payment(infra: Infra, stripe_mock: StripeMock) -> AsyncIterator[Runtime]:
    from tests.support.services import service

    dsn = await infra.create_database("payment_pay_for_me")
    async with service(
        build,
        PaymentSettings,
        infra,
        dsn,
        providers_by_method={"pay_for_me": "stripe", "card": "stripe"},
        stripe_api_key=API_KEY,
        stripe_webhook_secret=WEBHOOK_SECRET,
        stripe_api_base=stripe_mock.api_base,
        effects_lease_seconds=1.0,
        effects_poll_seconds=0.2,
    ) as runtime:
        yield runtime


@pytest_asyncio.fixture(loop_scope="session")
async def pay(infra: Infra, stripe_payment: Runtime, tail: TopicTail) -> AsyncIterator[Payment]:
    async with client_of(stripe_payment) as http:
        yield Payment(infra, stripe_payment, http, tail)


async def attempts(pay: Payment, order_id: str) -> list[dict[str, object]]:
    rows = await db.rows(
        pay.runtime,
        "SELECT attempt_id, status, session_id, provider FROM attempts WHERE order_id = $1 "
        "ORDER BY number",
        order_id,
    )
    return [dict(r) for r in rows]


async def stripe_says(pay: Payment, event_type: str, order_id: str, attempt_id: str) -> None:
    """Stripe posts the session's event, signed with the endpoint's secret."""
    [row] = [a for a in await attempts(pay, order_id) if a["attempt_id"] == attempt_id]
    paid = event_type == "checkout.session.completed"
    obj = checkout_session(
        str(row["session_id"]), order_id=order_id, attempt_id=attempt_id, amount=8_800,
        status="complete" if paid else "expired", payment_status="paid" if paid else "unpaid",
    )  # fmt: skip
    body = event(event_type, obj)
    headers = {"Stripe-Signature": signature(WEBHOOK_SECRET, body)}
    response = await pay.http.post("/v1/webhooks/stripe", content=body, headers=headers)
    assert response.status_code == 200, response.text


async def open_link(pay: Payment, link: str) -> httpx.Response:
    """Whoever holds the link opens it: no credentials."""
    return await pay.http.get(httpx.URL(link).path)


async def test_a_friend_pays_through_the_shared_link(pay: Payment) -> None:
    order_id, requested = await pay.checkout(PaymentMethod.PAY_FOR_ME, amount=8_800)
    link, page = requested["pay_link"], requested["checkout_url"]
    base = pay.runtime.settings.base_url
    assert link.startswith(f"{base}/v1/pay/{order_id}.") and len(link) < len(base) + 80
    assert page.startswith("https://checkout.stripe.com/"), "Stripe's page takes any payer"

    landed = [await open_link(pay, link) for _ in range(3)]
    assert [(r.status_code, r.headers["location"]) for r in landed] == [(303, page)] * 3
    assert len(await attempts(pay, order_id)) == 1, "opening the link again opens nothing"
    forged = await pay.http.get(f"/v1/pay/{order_id}.AAAAAAAAAAAAAAAA")
    assert (forged.status_code, forged.json()["error"]) == (404, "unknown_link")

    await stripe_says(pay, "checkout.session.completed", order_id, requested["attempt_id"])
    [paid] = await pay.published(order_id, "PaymentSucceeded")
    assert (paid["method"], paid["provider"]) == ("pay_for_me", "stripe")
    after = await open_link(pay, link)
    assert (after.status_code, after.json()["error"]) == (409, "already_paid")


async def test_an_ended_session_is_opened_again_once_behind_the_same_link(pay: Payment) -> None:
    order_id, first = await pay.checkout(PaymentMethod.PAY_FOR_ME, amount=8_800)
    await stripe_says(pay, "checkout.session.expired", order_id, first["attempt_id"])
    [failed] = await pay.published(order_id, "PaymentFailed")
    assert (failed["reason"], failed["retry_allowed"]) == ("expired", True)

    # three friends open the link at once: one new session, the same page for each
    landed = await asyncio.gather(*(open_link(pay, first["pay_link"]) for _ in range(3)))
    assert [r.status_code for r in landed] == [303] * 3, [r.text for r in landed]
    rows = await attempts(pay, order_id)
    assert [r["status"] for r in rows] == ["superseded", "open"]
    assert rows[1]["session_id"] != rows[0]["session_id"] and rows[1]["provider"] == "stripe"
    [_, second] = await pay.published(order_id, "PaymentRequested", count=2)
    assert second["pay_link"] == first["pay_link"], "the link the friend has keeps working"
    assert {r.headers["location"] for r in landed} == {second["checkout_url"]}

    await stripe_says(pay, "checkout.session.completed", order_id, second["attempt_id"])
    [paid] = await pay.published(order_id, "PaymentSucceeded")
    assert paid["attempt_id"] == second["attempt_id"]


async def test_the_link_stops_paying_when_the_order_no_longer_wants_it(pay: Payment) -> None:
    order_id, requested = await pay.checkout(PaymentMethod.PAY_FOR_ME, amount=8_800)
    retried = await pay.http.post(
        f"/v1/orders/{order_id}/payment/retry", json={"method": "card"}, headers=SHOP
    )
    assert retried.status_code == 201, retried.text
    replaced = await open_link(pay, requested["pay_link"])
    assert (replaced.status_code, replaced.json()["error"]) == (410, "link_replaced")

    closed_id, closing = await pay.checkout(PaymentMethod.PAY_FOR_ME, amount=8_800)
    await pay.send(OrderClosed(), closed_id)
    await pay.view_when(closed_id, "expired")
    gone = await open_link(pay, closing["pay_link"])
    assert (gone.status_code, gone.json()["error"]) == (410, "order_closed")
