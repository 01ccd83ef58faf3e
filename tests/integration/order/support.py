"""Driving the order service in tests: a shop frontend's requests and other services' events."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from typing import Any

import httpx

from services.order.app import build
from services.order.settings import OrderSettings
from shared.contracts.envelope import Envelope, Event
from shared.contracts.events.logistics import StockReserved
from shared.contracts.events.payment import PaymentFailed
from shared.contracts.events.returns import RefundRejected
from shared.contracts.registry import topic_for_event
from shared.runtime import Runtime
from tests.support.infra import Infra
from tests.support.kafka import Record, TopicTail, publish
from tests.support.polling import eventually
from tests.support.services import base_url, running, settings_for

SHOP = {"Authorization": "Bearer dev-shop-key"}


def order_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "items": [
            {
                "sku": "TEE-RED-M",
                "name": "Cotton tee",
                "variant": "red / M",
                "quantity": 2,
                "unit_price": 4_900,
            },
            {"sku": "MUG-01", "name": "Mug", "quantity": 1, "unit_price": 3_000},
        ],
        "currency": "CNY",
        "customer_id": f"cus_{uuid.uuid4().hex[:8]}",
        "contact": {"phone": "+86 138-0013-8000", "email": "li.wei@example.com"},
        "address": {
            "recipient": "Li Wei",
            "line1": "1 Century Avenue",
            "city": "Shanghai",
            "country": "CN",
        },
        "locale": "zh-CN",
        "payment_method": "wallet",
        "gift_message": "Happy birthday!",
    }
    body.update(overrides)
    return body


@asynccontextmanager
async def order_service(infra: Infra, dsn: str, **overrides: Any) -> AsyncIterator[Runtime]:
    settings = settings_for(OrderSettings, infra.bootstrap, dsn, **overrides)
    async with running(build(settings)) as runtime:
        await caught_up(runtime)
        yield runtime


async def caught_up(runtime: Runtime) -> None:
    """Waits until the service reads each consumed topic (its group joined, its backlog read)."""
    order_id = (await place(runtime))["order_id"]
    await tell(
        runtime,
        order_id,
        PaymentFailed(
            attempt_id="warm-up", method="wallet", reason="x", message="x", retry_allowed=True
        ),
        StockReserved(lines=(), promised_ship_date=date(2030, 1, 1)),
        RefundRejected(refund_request_id="warm-up", reason="x", actor="system"),
    )
    await until(runtime, order_id, lambda o: len(o["timeline"]) == 4, timeout=90)


def client(runtime: Runtime) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base_url(runtime), timeout=10)


async def place(runtime: Runtime, **overrides: Any) -> dict[str, Any]:
    async with client(runtime) as http:
        response = await http.post("/v1/orders", json=order_body(**overrides), headers=SHOP)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def get(runtime: Runtime, order_id: str) -> dict[str, Any]:
    async with client(runtime) as http:
        response = await http.get(f"/v1/orders/{order_id}", headers=SHOP)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def tell(runtime: Runtime, order_id: str, *events: Event) -> list[Envelope]:
    """Publishes `events`, in order, as the services that own them would."""
    sent = []
    for event in events:
        producer = topic_for_event(event.TYPE).producer
        wrapped = Envelope.wrap(event, producer=producer, order_id=order_id)
        await publish(runtime.settings.kafka_bootstrap, wrapped)
        sent.append(wrapped)
    return sent


async def until(runtime: Runtime, order_id: str, check: Any, timeout: float = 30) -> dict[str, Any]:
    """Polls the order until `check(order)` holds; returns that order."""

    async def probe() -> dict[str, Any] | None:
        order = await get(runtime, order_id)
        return order if check(order) else None

    return await eventually(probe, timeout=timeout, what=f"order {order_id} condition")


async def published(
    tail: TopicTail, order_id: str, event_type: str, *, count: int = 1, timeout: float = 20
) -> list[Record]:
    return await tail.wait_for(
        lambda r: r.key == order_id.encode() and r.type == event_type, count=count, timeout=timeout
    )


def of_order(tail: TopicTail, order_id: str, event_type: str) -> list[Record]:
    return [r for r in tail.records if r.key == order_id.encode() and r.type == event_type]


def kinds(order: dict[str, Any]) -> list[str]:
    return [entry["kind"] for entry in order["timeline"]]


def now() -> datetime:
    return datetime.now(UTC)
