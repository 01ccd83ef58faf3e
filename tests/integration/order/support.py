"""Driving the order service in tests: a shop frontend's requests and other services' events."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, timedelta
from typing import Any

from services.order.app import build
from services.order.settings import OrderSettings
from shared.contracts.envelope import Event, Money
from shared.contracts.events import logistics as lg
from shared.contracts.events import payment as pm
from shared.contracts.events import returns as rt
from shared.contracts.events.common import Address
from shared.contracts.events.logistics import StockReserved
from shared.contracts.events.payment import PaymentFailed
from shared.contracts.events.returns import RefundRejected
from shared.runtime import Runtime
from tests.support.events import now, send_all
from tests.support.http import SHOP, client
from tests.support.infra import Infra
from tests.support.polling import eventually
from tests.support.services import service


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
    async with service(build, OrderSettings, infra, dsn, **overrides) as runtime:
        await caught_up(runtime)
        yield runtime


async def caught_up(runtime: Runtime) -> None:
    """Waits until the service reads each consumed topic (its group joined, its backlog read)."""
    order_id = (await place(runtime))["order_id"]
    await send_all(
        runtime,
        order_id,
        PaymentFailed(
            attempt_id="warm-up", method="wallet", reason="x", message="x", retry_allowed=True
        ),
        StockReserved(lines=(), promised_ship_date=date(2030, 1, 1)),
        RefundRejected(refund_request_id="warm-up", reason="x", actor="system"),
    )
    await until(runtime, order_id, lambda o: len(o["timeline"]) == 4, timeout=90)


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


async def until(runtime: Runtime, order_id: str, check: Any, timeout: float = 30) -> dict[str, Any]:
    """Polls the order until `check(order)` holds; returns that order."""

    async def probe() -> dict[str, Any] | None:
        order = await get(runtime, order_id)
        return order if check(order) else None

    return await eventually(probe, timeout=timeout, what=f"order {order_id} condition")


def kinds(order: dict[str, Any]) -> list[str]:
    return [entry["kind"] for entry in order["timeline"]]


CNY = "CNY"
ADDRESS = Address(recipient="Li Wei", line1="1 Century Avenue", city="Shanghai", country="CN")


def succeeded(attempt: str, amount: int = 12_800, method: str = "wallet") -> pm.PaymentSucceeded:
    return pm.PaymentSucceeded(
        attempt_id=attempt,
        method=method,
        amount=Money(amount=amount, currency=CNY),
        provider="sandbox",
        provider_reference=f"ref-{attempt}",
        paid_at=now(),
    )


def shipped(
    shipment: str, ago: timedelta = timedelta(0), parcel: lg.ParcelNumber | None = None
) -> lg.ShipmentShipped:
    return lg.ShipmentShipped(
        shipment_id=shipment,
        courier="SF Express",
        tracking_number=f"SF{uuid.uuid4().hex[:10]}",
        lines=(),
        address=ADDRESS,
        shipped_at=now() - ago,
        parcel=parcel,
    )


def refund(kind: type[Event], request: str, amount: int = 12_800, **extra: object) -> Event:
    values: dict[str, object] = {"refund_request_id": request}
    if kind in (rt.RefundRequested, rt.RefundApproved):
        values |= {"flow": "before_shipping", "lines": (), "actor": "system"}
        values |= {"amount": Money(amount=amount, currency=CNY)}
    if kind is rt.RefundRequested:
        values |= {"reason": "changed_mind", "return_shipping_paid_by": None}
    values |= extra
    return kind(**values)


def refund_paid(request: str | None, amount: int = 12_800, reason: str = "refund") -> pm.RefundPaid:
    return pm.RefundPaid(
        refund_id=f"rf_{uuid.uuid4().hex[:8]}",
        refund_request_id=request,
        amount=Money(amount=amount, currency=CNY),
        reason=reason,
        paid_at=now(),
    )


def delivered(
    shipment: str, cash: int | None = None, parcel: lg.ParcelNumber | None = None
) -> lg.ShipmentDelivered:
    """Logistics' word that the parcel reached the customer (collecting `cash` on delivery)."""
    return lg.ShipmentDelivered(
        shipment_id=shipment,
        courier="SF Express",
        tracking_number="SF1",
        delivered_at=now(),
        city="Shanghai",
        cash_collected=Money(amount=cash, currency=CNY) if cash else None,
        parcel=parcel,
    )
