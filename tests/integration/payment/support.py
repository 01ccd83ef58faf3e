"""What is about payment alone in its tests: its orders, its view, the sandbox provider's
pages and signed callbacks (for tests that act as the provider)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import httpx

from shared import signing
from shared.contracts.envelope import Envelope, Event, Money
from shared.contracts.events.common import Contact, ExchangeItem, LineQuantity, PaymentMethod
from shared.contracts.events.logistics import ShipmentDelivered
from shared.contracts.events.order import OrderPlaced
from shared.contracts.events.returns import ExchangeAccepted, RefundApproved, RefundFlow
from shared.runtime import Runtime
from tests.support import db, events
from tests.support.http import SHOP
from tests.support.infra import Infra
from tests.support.kafka import TopicTail
from tests.support.polling import eventually

SECRET = "dev-webhook-secret"


def placed(method: PaymentMethod, amount: int = 12_900, due_in: float = 3600) -> OrderPlaced:
    return events.placed(
        events.line(unit_price=amount),
        method=method,
        contact=Contact(email="buyer@example.com"),
        due_in=due_in,
    )


def cash_delivered(shipment_id: str, tracking_number: str, amount: int) -> ShipmentDelivered:
    """The courier delivered the parcel and collected `amount` in cash."""
    return ShipmentDelivered(
        shipment_id=shipment_id,
        courier="sf",
        tracking_number=tracking_number,
        delivered_at=events.now(),
        city="Hangzhou",
        cash_collected=Money(amount=amount, currency="CNY"),
    )


def approved(refund_request_id: str, amount: int) -> RefundApproved:
    return RefundApproved(
        refund_request_id=refund_request_id,
        flow=RefundFlow.NO_RETURN,
        lines=(LineQuantity(line_id="l1", sku="TEA-1", quantity=1),),
        amount=Money(amount=amount, currency="CNY"),
        actor="operations",
    )


def accepted(
    exchange_id: str,
    difference: int,
    settlement: Literal["charge", "refund", "none"] = "charge",
    pay_by: datetime | None = None,
) -> ExchangeAccepted:
    return ExchangeAccepted(
        exchange_id=exchange_id,
        reason="changed_mind",
        line=LineQuantity(line_id="l1", sku="TEA-1", quantity=1),
        replacement=ExchangeItem(
            sku="TEA-1-L",
            name="Tea",
            variant="large",
            quantity=1,
            unit_price=Money(amount=12_900 + difference, currency="CNY"),
        ),
        difference=Money(amount=difference, currency="CNY"),
        settlement=settlement,
        ships="on_return",
        return_shipping_paid_by="customer",
        pay_by=pay_by or (events.now() + timedelta(hours=48)) if settlement == "charge" else None,
    )


def new_exchange_id() -> str:
    return f"exc_{uuid.uuid4().hex[:12]}"


def assert_balanced(body: dict[str, Any]) -> None:
    charges = sum(e["amount"] for e in body["ledger"] if e["kind"] == "charge")
    refunds = sum(e["amount"] for e in body["ledger"] if e["kind"] == "refund")
    assert (body["captured"], body["refunded"]) == (charges, refunds)
    assert body["net"] == charges - refunds >= 0


def session_of(request: dict[str, Any]) -> str:
    url = request["checkout_url"] or request["pay_link"]
    return str(httpx.URL(url).path.rsplit("/", 1)[-1])


def callback(
    order_id: str,
    request: dict[str, Any],
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
            "session_id": session_of(request),
            "order_id": order_id,
            "attempt_id": request["attempt_id"],
            "amount": request["amount"],
            "reference": f"sbx_ch_{uuid.uuid4().hex[:8]}" if succeeded else None,
            "reason": None if succeeded else (reason or "card_declined"),
            "occurred_at": events.now().isoformat(),
        }
    ).encode()


@dataclass
class Payment:
    """The payment service under test with what drives it: the broker (the tests play the
    order service, logistics and returns), the shop's HTTP client and the topics' tail."""

    infra: Infra
    runtime: Runtime
    http: httpx.AsyncClient
    tail: TopicTail

    async def send(self, event: Event, order_id: str) -> Envelope:
        return await events.send(self.infra, event, order_id)

    async def resend(self, *envelopes: Envelope) -> None:
        await events.resend(self.infra, *envelopes)

    async def published(
        self, order_id: str, event_type: str, *, count: int = 1
    ) -> list[dict[str, Any]]:
        """Payloads of what payment published for the order, as seen on the broker."""
        return await events.payloads(self.tail, order_id, event_type, count=count)

    async def checkout(self, method: PaymentMethod, **order: Any) -> tuple[str, dict[str, Any]]:
        """A new order placed with `method`, and the payment request payment answered it with."""
        order_id = events.new_order_id()
        await self.send(placed(method, **order), order_id)
        [request] = await self.published(order_id, "PaymentRequested")
        return order_id, request

    async def paid_order(self, amount: int) -> str:
        order_id, request = await self.checkout(PaymentMethod.CARD, amount=amount)
        reply = await self.deliver(callback(order_id, request, "succeeded"))
        assert reply.status_code == 200
        await self.published(order_id, "PaymentSucceeded")
        return order_id

    async def outbox(self, order_id: str) -> list[str]:
        """Everything payment has committed to publish on payments.v1 for the order, in order."""
        return await db.outbox_types(self.runtime, order_id, "payments.v1")

    async def view(self, order_id: str) -> dict[str, Any]:
        response = await self.http.get(f"/v1/orders/{order_id}/payment", headers=SHOP)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def view_when(self, order_id: str, status: str) -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            response = await self.http.get(f"/v1/orders/{order_id}/payment", headers=SHOP)
            if response.status_code != 200:
                return None
            body: dict[str, Any] = response.json()
            return body if body["status"] == status else None

        result: dict[str, Any] = await eventually(probe, what=f"payment status {status}")
        return result

    async def complete(self, url: str, **body: Any) -> dict[str, Any]:
        """The shopper ends a sandbox checkout (or a pay-for-me link) as told."""
        response = await self.http.post(f"{httpx.URL(url).path}/complete", json=body)
        assert response.status_code == 202, response.text
        result: dict[str, Any] = response.json()
        return result

    async def deliver(
        self, body: bytes, *, secret: str = SECRET, timestamp: int | None = None
    ) -> httpx.Response:
        """The provider posts a signed callback."""
        headers = {signing.HEADER: signing.sign(secret, body, timestamp)}
        return await self.http.post("/v1/webhooks/sandbox", content=body, headers=headers)
