"""Driving exchanges as returns' neighbours do: the customer's and operations' HTTP calls,
logistics' reservation, shipping and delivery, payment's capture."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from shared.contracts.envelope import Money
from shared.contracts.events.common import ExchangeItem
from shared.contracts.events.logistics import (
    ExchangeDelivered,
    ExchangeReserved,
    ExchangeShipped,
    ExchangeUnavailable,
)
from shared.contracts.events.payment import ExchangePaymentSucceeded
from shared.runtime import Runtime
from tests.integration.returns.support import paid_order
from tests.support.events import SHANGHAI, now
from tests.support.http import OPS, client, customer
from tests.support.polling import eventually

TEA_1 = {"line_id": "l1", "quantity": 1, "replacement_sku": "SKU-TEA-GREEN"}
"""One of the two oolong teas (5,000 each, no discount) for the green tea."""


async def delivered_order(runtime: Runtime) -> str:
    """A paid order delivered yesterday (inside the seven-day window)."""
    return await paid_order(
        runtime, shipped_at=now() - timedelta(days=3), delivered_at=now() - timedelta(days=1)
    )


async def ask_exchange(
    runtime: Runtime, order_id: str, body: dict[str, Any], key: str | None = None
) -> httpx.Response:
    headers = customer(order_id)
    if key:
        headers["Idempotency-Key"] = key
    async with client(runtime) as http:
        return await http.post(f"/v1/orders/{order_id}/exchanges", json=body, headers=headers)


async def act(
    runtime: Runtime, exchange_id: str, action: str, headers: dict[str, str], body: Any = None
) -> httpx.Response:
    async with client(runtime) as http:
        return await http.post(f"/v1/exchanges/{exchange_id}/{action}", json=body, headers=headers)


async def receive(runtime: Runtime, exchange_id: str) -> httpx.Response:
    return await act(runtime, exchange_id, "return-received", OPS)


async def fetch_exchange(runtime: Runtime, exchange_id: str, order_id: str) -> dict[str, Any]:
    async with client(runtime) as http:
        response = await http.get(f"/v1/exchanges/{exchange_id}", headers=customer(order_id))
    assert response.status_code == 200, response.text
    return dict(response.json())


async def until_exchange(
    runtime: Runtime, exchange_id: str, order_id: str, status: str, **flags: bool
) -> dict[str, Any]:
    """Polls until the exchange is in `status` (and each flag named, e.g. paid_at=True, is
    set or not)."""

    async def probe() -> dict[str, Any] | None:
        found = await fetch_exchange(runtime, exchange_id, order_id)
        ready = found["status"] == status and all(
            (found[name] is not None) == wanted for name, wanted in flags.items()
        )
        return found if ready else None

    return await eventually(probe, what=f"exchange {exchange_id} {status}")


def replacement(price: int, quantity: int = 1) -> ExchangeItem:
    return ExchangeItem(
        sku="SKU-TEA-GREEN",
        name="Oolong tea",
        variant="green",
        quantity=quantity,
        unit_price=Money(amount=price, currency="CNY"),
    )


def reserved(exchange_id: str, price: int) -> ExchangeReserved:
    return ExchangeReserved(
        exchange_id=exchange_id, replacement=replacement(price), warehouse="wh-sh"
    )


def unavailable(exchange_id: str) -> ExchangeUnavailable:
    return ExchangeUnavailable(
        exchange_id=exchange_id, reason="out_of_stock", message="no green tea left"
    )


def captured(exchange_id: str, amount: int) -> ExchangePaymentSucceeded:
    return ExchangePaymentSucceeded(
        exchange_id=exchange_id,
        attempt_id=f"att_{uuid.uuid4().hex[:8]}",
        amount=Money(amount=amount, currency="CNY"),
        provider="sandbox",
        provider_reference=f"ref_{uuid.uuid4().hex[:8]}",
        paid_at=now(),
    )


def shipped(exchange_id: str, price: int) -> ExchangeShipped:
    return ExchangeShipped(
        exchange_id=exchange_id,
        shipment_id=f"shp_{uuid.uuid4().hex[:8]}",
        courier="sf-express",
        tracking_number=f"SFX{uuid.uuid4().hex[:10]}",
        replacement=replacement(price),
        address=SHANGHAI,
        shipped_at=now(),
    )


def delivered(sent: ExchangeShipped) -> ExchangeDelivered:
    """The replacement's parcel `sent` reached the customer."""
    return ExchangeDelivered(
        exchange_id=sent.exchange_id,
        shipment_id=sent.shipment_id,
        courier=sent.courier,
        tracking_number=sent.tracking_number,
        delivered_at=now(),
    )


async def awaiting_return(runtime: Runtime) -> list[dict[str, Any]]:
    """Every exchange in operations' queue of units due back (`GET /v1/ops/exchanges`),
    all pages, oldest first."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    async with client(runtime) as http:
        while True:
            params = {"limit": "500", **({"cursor": cursor} if cursor else {})}
            response = await http.get("/v1/ops/exchanges", params=params, headers=OPS)
            assert response.status_code == 200, response.text
            found += response.json()["exchanges"]
            cursor = response.json()["next_cursor"]
            if cursor is None:
                return found


async def pay_deadline_now(runtime: Runtime, exchange_id: str) -> None:
    """The pay-by deadline comes: the exchange's timer is brought forward."""
    await _deadline_now(runtime, exchange_id, "exchange_pay_by")


async def return_deadline_now(runtime: Runtime, exchange_id: str) -> None:
    """The deadline to send the units back comes."""
    await _deadline_now(runtime, exchange_id, "exchange_return_by")


async def _deadline_now(runtime: Runtime, exchange_id: str, kind: str) -> None:
    async with runtime.db.acquire() as conn:
        moved = await conn.execute(
            "UPDATE timers SET due_at = $3 WHERE kind = $2 AND key = $1",
            exchange_id,
            kind,
            datetime.now(UTC) - timedelta(seconds=1),
        )
    assert moved == "UPDATE 1", f"the exchange has its {kind} timer"
