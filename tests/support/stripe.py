"""Playing Stripe in tests: its events, signed the way Stripe signs them, and a record of
what the stripe client sent (stripe-mock answers but keeps nothing)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import stripe

from services.payment.providers.stripe import StripeHttp

WEBHOOK_SECRET = "whsec_" + "test" * 8
API_KEY = "sk_test_" + "0" * 24


def signature(secret: str, body: bytes, timestamp: int | None = None, *extra_v1: str) -> str:
    """A `Stripe-Signature` header: t=<unix time>, v1=<hex HMAC-SHA256 of "t.body">, and any
    `extra_v1` signatures (Stripe sends one per active secret while one is rolled)."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return ",".join([f"t={t}", *(f"v1={v}" for v in (*extra_v1, mac))])


def checkout_session(
    session_id: str,
    *,
    order_id: str | None,
    attempt_id: str,
    amount: int,
    currency: str = "cny",
    status: str = "complete",
    payment_status: str = "paid",
) -> dict[str, Any]:
    """A Checkout Session object as Stripe sends it in an event (the fields payment reads,
    and some it does not)."""
    metadata = {"order_id": order_id, "attempt_id": attempt_id} if order_id else {}
    return {
        "id": session_id,
        "object": "checkout.session",
        "amount_subtotal": amount,
        "amount_total": amount,
        "client_reference_id": attempt_id,
        "created": int(time.time()) - 60,
        "currency": currency,
        "customer_details": {"email": "buyer@example.com", "name": None},
        "livemode": False,
        "metadata": metadata,
        "mode": "payment",
        "payment_intent": f"pi_{uuid.uuid4().hex[:24]}",
        "payment_method_types": ["card"],
        "payment_status": payment_status,
        "status": status,
        "url": None,
    }


def event(event_type: str, data_object: Mapping[str, Any], *, event_id: str | None = None) -> bytes:
    """An event as Stripe posts it to a webhook endpoint (a snapshot event)."""
    return json.dumps(
        {
            "id": event_id or f"evt_{uuid.uuid4().hex[:24]}",
            "object": "event",
            "api_version": stripe.api_version,  # the version the package is pinned to
            "created": int(time.time()),
            "data": {"object": dict(data_object)},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": event_type,
        }
    ).encode()


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    idempotency_key: str | None
    params: dict[str, str]
    status: int
    echoed_key: str | None  # the key as stripe-mock answered it


class RecordingClient(StripeHttp):
    """The provider's own transport, keeping each request and its answer's status."""

    def __init__(self, timeout: float = 10.0) -> None:
        super().__init__(timeout=timeout, concurrency=4)
        self.calls: list[Call] = []

    async def request_async(
        self, method: str, url: str, headers: Mapping[str, str], post_data: Any = None
    ) -> tuple[bytes, int, Mapping[str, str]]:
        content, status, answer = await super().request_async(method, url, headers, post_data)
        path = url.split("://", 1)[-1].split("/", 1)[-1].split("?", 1)[0]
        params = dict(parse_qsl(post_data or "", keep_blank_values=True))
        self.calls.append(
            Call(
                method,
                f"/{path}",
                headers.get("Idempotency-Key"),
                params,
                status,
                answer.get("Idempotency-Key"),
            )
        )
        return content, status, answer
