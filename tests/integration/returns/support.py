"""Driving the returns service as its neighbours do: order, payment and logistics events
on their topics, and the customer's and operations' HTTP calls."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import httpx

from services.returns import repository
from services.returns.domain.records import OrderView
from shared.contracts.envelope import Money
from shared.contracts.events.common import OrderLine
from shared.contracts.events.logistics import (
    ShipmentAlreadyDispatched,
    ShipmentDelivered,
    ShipmentShipped,
    ShipmentStopped,
    StockReserved,
)
from shared.contracts.events.order import OrderCancellationRequested, OrderPlaced
from shared.contracts.events.payment import RefundPaid
from shared.runtime import Runtime
from tests.support import events
from tests.support.events import new_order_id, now, send
from tests.support.http import OPS, client, customer
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


def placed() -> OrderPlaced:
    return events.placed(TEA, CUP)


def cancellation(paid: int = PAID) -> OrderCancellationRequested:
    """The customer asks to cancel an order that was paid `paid`."""
    return OrderCancellationRequested(
        reason="changed_mind", paid=Money(amount=paid, currency="CNY")
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
    await send(runtime, events.paid(PAID), order_id)
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


async def paid_order(
    runtime: Runtime, *, shipped_at: datetime | None = None, delivered_at: datetime | None = None
) -> str:
    """A new order, seeded as `seed` does; its id."""
    order_id = new_order_id()
    await seed(runtime, order_id, shipped_at=shipped_at, delivered_at=delivered_at)
    return order_id


async def ask(
    runtime: Runtime, order_id: str, body: dict[str, Any], key: str | None = None
) -> httpx.Response:
    headers = customer(order_id)
    if key:
        headers["Idempotency-Key"] = key
    async with client(runtime) as http:
        return await http.post(f"/v1/orders/{order_id}/refund-requests", json=body, headers=headers)


async def operate(
    runtime: Runtime, request_id: str, action: str, body: Any = None
) -> httpx.Response:
    async with client(runtime) as http:
        return await http.post(f"/v1/refund-requests/{request_id}/{action}", json=body, headers=OPS)


async def fetch(runtime: Runtime, request_id: str, order_id: str) -> dict[str, Any]:
    async with client(runtime) as http:
        response = await http.get(f"/v1/refund-requests/{request_id}", headers=customer(order_id))
    assert response.status_code == 200, response.text
    return dict(response.json())


async def until_status(
    runtime: Runtime, request_id: str, order_id: str, status: str
) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        found = await fetch(runtime, request_id, order_id)
        return found if found["status"] == status else None

    return await eventually(probe, what=f"request {request_id} {status}")


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
