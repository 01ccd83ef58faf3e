"""The payment service running on the real broker and database, and ways to drive it.

One service instance serves the whole module (each test makes its own order ids),
so the suite pays the start-up once. Tests play the order service, logistics and
returns (by publishing their events), the shopper (through the sandbox pages) and,
when they need exact control, the provider itself (signing callbacks).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio

from services.payment.app import build
from services.payment.settings import PaymentSettings
from shared import signing
from shared.contracts.envelope import Envelope, Event, Money
from shared.contracts.events.common import Address, Contact, Locale, OrderLine, PaymentMethod
from shared.contracts.events.order import OrderPlaced
from shared.runtime import Runtime
from shared.tokens import order_token
from tests.support.infra import Infra
from tests.support.kafka import Record, TopicTail, publish
from tests.support.polling import eventually
from tests.support.services import base_url, running, settings_for

SECRET = "dev-webhook-secret"
SHOP = {"Authorization": "Bearer dev-shop-key"}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def payment(infra: Infra) -> AsyncIterator[Runtime]:
    dsn = await infra.create_database("payment")
    settings = settings_for(
        PaymentSettings,
        infra.bootstrap,
        dsn,
        refund_retry_base_seconds=0.3,
        refund_retry_max_seconds=1.0,
        effects_lease_seconds=1.0,
        effects_poll_seconds=0.2,
    )
    async with running(build(settings)) as runtime:
        yield runtime


@pytest_asyncio.fixture(loop_scope="session")
async def client(payment: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=base_url(payment), timeout=10) as http:
        yield http


@pytest.fixture
def order_id() -> str:
    return f"ord_{uuid.uuid4().hex[:12]}"


def new_order_id() -> str:
    return f"ord_{uuid.uuid4().hex[:12]}"


def placed(method: PaymentMethod, amount: int = 12_900, due_in: float = 3600) -> OrderPlaced:
    price = Money(amount=amount, currency="CNY")
    return OrderPlaced(
        customer_id=None,
        lines=(OrderLine(line_id="l1", sku="TEA-1", name="Tea", quantity=1, unit_price=price),),
        total=price,
        contact=Contact(email="buyer@example.com"),
        address=Address(recipient="Li Wei", line1="1 Road", city="Hangzhou", country="CN"),
        locale=Locale.ZH_CN,
        time_zone="Asia/Shanghai",
        payment_method=method,
        payment_due_at=datetime.now(UTC) + timedelta(seconds=due_in),
        order_url="https://shop.example/orders/x",
    )


async def send(infra: Infra, event: Event, order_id: str, producer: str = "order") -> Envelope:
    envelope = Envelope.wrap(event, producer=producer, order_id=order_id)
    await publish(infra.bootstrap, envelope)
    return envelope


def of(order_id: str, event_type: str) -> Any:
    return lambda r: r.key == order_id.encode() and r.type == event_type


async def published(tail: TopicTail, order_id: str, event_type: str, count: int = 1) -> list[Any]:
    """Payloads of what payment published for the order, as seen on the broker."""
    records: list[Record] = await tail.wait_for(of(order_id, event_type), count=count)
    return [r.json()["payload"] for r in records]


async def outbox_types(runtime: Runtime, order_id: str) -> list[str]:
    """Everything payment has committed to publish on payments.v1 for the order, in order."""
    async with runtime.db.acquire() as conn:
        rows = await conn.fetch(
            "SELECT event_type FROM outbox WHERE key = $1 AND topic = 'payments.v1' ORDER BY id",
            order_id.encode(),
        )
    return [r["event_type"] for r in rows]


async def view(client: httpx.AsyncClient, order_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/orders/{order_id}/payment", headers=SHOP)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def view_when(client: httpx.AsyncClient, order_id: str, status: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        response = await client.get(f"/v1/orders/{order_id}/payment", headers=SHOP)
        if response.status_code != 200:
            return None
        body: dict[str, Any] = response.json()
        return body if body["status"] == status else None

    result: dict[str, Any] = await eventually(probe, what=f"payment status {status}")
    return result


def token_header(order_id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {order_token('dev-order-token-secret', order_id)}"}


def assert_balanced(body: dict[str, Any]) -> None:
    charges = sum(e["amount"] for e in body["ledger"] if e["kind"] == "charge")
    refunds = sum(e["amount"] for e in body["ledger"] if e["kind"] == "refund")
    assert (body["captured"], body["refunded"]) == (charges, refunds)
    assert body["net"] == charges - refunds >= 0


async def complete(client: httpx.AsyncClient, url: str, **body: Any) -> dict[str, Any]:
    """The shopper ends a sandbox checkout (or a pay-for-me link) as told."""
    response = await client.post(f"{httpx.URL(url).path}/complete", json=body)
    assert response.status_code == 202, response.text
    result: dict[str, Any] = response.json()
    return result


def session_of(requested: dict[str, Any]) -> str:
    url = requested["checkout_url"] or requested["pay_link"]
    return str(httpx.URL(url).path.rsplit("/", 1)[-1])


def callback(
    order_id: str,
    requested: dict[str, Any],
    outcome: str,
    *,
    event_id: str | None = None,
    reason: str | None = None,
) -> bytes:
    """A callback body as the sandbox provider writes it (for tests that act as the provider)."""
    succeeded = outcome == "succeeded"
    return json.dumps(
        {
            "id": event_id or f"evt_{uuid.uuid4().hex}",
            "type": f"payment.{outcome}",
            "session_id": session_of(requested),
            "order_id": order_id,
            "attempt_id": requested["attempt_id"],
            "amount": requested["amount"],
            "reference": f"sbx_ch_{uuid.uuid4().hex[:8]}" if succeeded else None,
            "reason": None if succeeded else (reason or "card_declined"),
            "occurred_at": datetime.now(UTC).isoformat(),
        }
    ).encode()


async def deliver(
    client: httpx.AsyncClient, body: bytes, *, secret: str = SECRET, timestamp: int | None = None
) -> httpx.Response:
    headers = {signing.HEADER: signing.sign(secret, body, timestamp)}
    return await client.post("/v1/webhooks/sandbox", content=body, headers=headers)
