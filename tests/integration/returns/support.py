"""Driving the returns service as its neighbours do: order, payment and logistics events
on their topics, and the customer's and operations' HTTP calls."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import httpx

from services.returns import repository
from services.returns.domain.records import OrderView
from shared.contracts.envelope import Envelope, Event, Money
from shared.contracts.events.common import Address, Contact, OrderLine
from shared.contracts.events.logistics import (
    ShipmentAlreadyDispatched,
    ShipmentDelivered,
    ShipmentShipped,
    ShipmentStopped,
    StockReserved,
)
from shared.contracts.events.order import OrderPaid, OrderPlaced
from shared.contracts.events.payment import RefundPaid
from shared.contracts.registry import topic_for_event
from shared.runtime import Runtime
from shared.tokens import order_token
from tests.support.kafka import Record, TopicTail, publish
from tests.support.polling import eventually

RULE_SECONDS = 3.0
TEA = OrderLine(
    line_id="l1",
    sku="SKU-TEA",
    name="Oolong tea",
    quantity=2,
    unit_price=Money(amount=5_000, currency="CNY"),
)
CUP = OrderLine(
    line_id="l2",
    sku="SKU-CUP",
    name="Tea cup",
    variant="white",
    quantity=1,
    unit_price=Money(amount=3_000, currency="CNY"),
)
PAID = 13_000


def new_order_id() -> str:
    return f"ord_{uuid.uuid4().hex[:12]}"


def now() -> datetime:
    return datetime.now(UTC)


async def send(runtime: Runtime, event: Event, order_id: str) -> Envelope:
    producer = topic_for_event(event.TYPE).producer
    envelope = Envelope.wrap(event, producer=producer, order_id=order_id)
    await publish(runtime.settings.kafka_bootstrap, envelope)
    return envelope


async def resend(runtime: Runtime, envelope: Envelope) -> None:
    """The very same message again, as a redelivery would bring it."""
    await publish(runtime.settings.kafka_bootstrap, envelope)


def placed() -> OrderPlaced:
    return OrderPlaced(
        customer_id=None,
        lines=(TEA, CUP),
        total=Money(amount=PAID, currency="CNY"),
        contact=Contact(email="li.wei@example.com"),
        address=Address(recipient="Li Wei", line1="1 Nanjing Rd", city="Shanghai", country="CN"),
        locale="zh-CN",
        time_zone="Asia/Shanghai",
        payment_method="card",
        payment_due_at=None,
        order_url="https://shop.example/orders/x",
    )


def paid(amount: int = PAID) -> OrderPaid:
    return OrderPaid(
        amount=Money(amount=amount, currency="CNY"), payment_method="card", paid_at=now()
    )


def shipped(at: datetime) -> ShipmentShipped:
    return ShipmentShipped(
        shipment_id=f"shp_{uuid.uuid4().hex[:8]}",
        courier="sf-express",
        tracking_number=f"SF{uuid.uuid4().hex[:10]}",
        lines=(TEA, CUP),
        address=placed().address,
        shipped_at=at,
    )


def delivered(at: datetime, tracking_number: str = "SF-OUT") -> ShipmentDelivered:
    return ShipmentDelivered(
        shipment_id="shp_x",
        courier="sf-express",
        tracking_number=tracking_number,
        delivered_at=at,
        city="Shanghai",
    )


def stopped(request_id: str) -> ShipmentStopped:
    """Logistics' answer to a refund before shipping: nothing leaves, the stock is back."""
    return ShipmentStopped(refund_request_id=request_id, shipment_id=None, stock_released=True)


def already_left(request_id: str, tracking_number: str = "SF-GONE") -> ShipmentAlreadyDispatched:
    """Logistics' answer to a refund before shipping when the parcel had already left."""
    return ShipmentAlreadyDispatched(
        refund_request_id=request_id,
        shipment_id="shp_gone",
        courier="sf-express",
        tracking_number=tracking_number,
        shipped_at=now(),
    )


def reserved(promised: date) -> StockReserved:
    return StockReserved(lines=(), promised_ship_date=promised)


def refund_paid(request_id: str, amount: int, refund_id: str | None = None) -> RefundPaid:
    return RefundPaid(
        refund_id=refund_id or f"rf_{uuid.uuid4().hex[:8]}",
        refund_request_id=request_id,
        amount=Money(amount=amount, currency="CNY"),
        reason="refund_request",
        paid_at=now(),
    )


async def order_view(runtime: Runtime, order_id: str) -> OrderView | None:
    async with runtime.db.acquire() as conn:
        return await repository.load_order(conn, order_id)


async def until_order(
    runtime: Runtime, order_id: str, ready: Callable[[OrderView], bool]
) -> OrderView:
    async def probe() -> OrderView | None:
        view = await order_view(runtime, order_id)
        return view if view is not None and ready(view) else None

    return await eventually(probe, what=f"order {order_id} known to returns")


async def seed(
    runtime: Runtime,
    order_id: str,
    *,
    shipped_at: datetime | None = None,
    delivered_at: datetime | None = None,
) -> OrderView:
    """An order placed and paid, optionally shipped and delivered, as returns learns it."""
    await send(runtime, placed(), order_id)
    await send(runtime, paid(), order_id)
    if shipped_at:
        await send(runtime, shipped(shipped_at), order_id)
    if delivered_at:
        await send(runtime, delivered(delivered_at), order_id)
    return await until_order(
        runtime,
        order_id,
        lambda o: (
            bool(o.lines)
            and o.paid == PAID
            and (shipped_at is None or o.shipped_at is not None)
            and (delivered_at is None or o.delivered_at is not None)
        ),
    )


def client(runtime: Runtime) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=f"http://127.0.0.1:{runtime.settings.http_port}", timeout=10)


def customer(runtime: Runtime, order_id: str) -> dict[str, str]:
    secret = runtime.settings.order_token_secret.get_secret_value()
    return {"Authorization": f"Bearer {order_token(secret, order_id)}"}


def ops(runtime: Runtime) -> dict[str, str]:
    return {"Authorization": f"Bearer {runtime.settings.ops_api_key.get_secret_value()}"}


def shop(runtime: Runtime) -> dict[str, str]:
    return {"Authorization": f"Bearer {runtime.settings.shop_api_key.get_secret_value()}"}


async def ask(
    runtime: Runtime, order_id: str, body: dict[str, Any], key: str | None = None
) -> httpx.Response:
    headers = customer(runtime, order_id)
    if key:
        headers["Idempotency-Key"] = key
    async with client(runtime) as http:
        return await http.post(f"/v1/orders/{order_id}/refund-requests", json=body, headers=headers)


async def operate(
    runtime: Runtime, request_id: str, action: str, body: Any = None
) -> httpx.Response:
    async with client(runtime) as http:
        return await http.post(
            f"/v1/refund-requests/{request_id}/{action}", json=body, headers=ops(runtime)
        )


async def fetch(runtime: Runtime, request_id: str, order_id: str) -> dict[str, Any]:
    async with client(runtime) as http:
        response = await http.get(
            f"/v1/refund-requests/{request_id}", headers=customer(runtime, order_id)
        )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def until_status(
    runtime: Runtime, request_id: str, order_id: str, status: str
) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        found = await fetch(runtime, request_id, order_id)
        return found if found["status"] == status else None

    return await eventually(probe, what=f"request {request_id} {status}")


def published(tail: TopicTail, order_id: str, *types: str) -> list[Record]:
    return [r for r in tail.records if r.key == order_id.encode() and r.type in types]


async def wait_published(
    tail: TopicTail, order_id: str, event_type: str, count: int = 1, timeout: float = 20
) -> list[dict[str, Any]]:
    records = await tail.wait_for(
        lambda r: r.key == order_id.encode() and r.type == event_type, count=count, timeout=timeout
    )
    return [r.json()["payload"] for r in records]


async def until_handled(runtime: Runtime, *envelopes: Envelope) -> None:
    """Waits until the service has taken every one of these messages (its inbox has them)."""
    ids = list({str(e.event_id) for e in envelopes})

    async def probe() -> bool:
        async with runtime.db.acquire() as conn:
            seen = await conn.fetchval(
                "SELECT count(*) FROM inbox WHERE message_id = ANY($1::text[])", ids
            )
        return bool(seen == len(ids))

    await eventually(probe, what="messages handled")


def trail(found: dict[str, Any], *refund_ids: str) -> list[tuple[str, str]]:
    """The request's audit trail as (actor, action), keeping of the payment outcomes only
    those of `refund_ids`: a payment service running elsewhere on the same broker may
    answer these tests' approvals with outcomes of its own."""
    return [
        (s["actor"], s["action"])
        for s in found["steps"]
        if s["action"] not in ("refunded", "refund_failed")
        or s["details"].get("refund_id") in refund_ids
    ]
