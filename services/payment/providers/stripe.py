"""Stripe: cards and wallets paid on Stripe's hosted page (Checkout Sessions).

Checkout Sessions rather than bare Payment Intents: the shop gets a `checkout_url` to send
the customer to, as with every provider here, and Stripe's page collects the card, runs
3-D Secure and offers the wallets; a Payment Intent would need the shop to embed Stripe's
card form itself. A session ends `checkout.session.completed` (paid, or paid later by an
asynchronous method: `checkout.session.async_payment_succeeded`/`_failed`) or
`checkout.session.expired`. A declined card does not end it (the customer tries again on
the same page), so `payment_intent.*` events are acknowledged and not acted on.

Every call goes through the official `stripe` package's async client, carried by
`StripeHttp` on a kept-alive aiohttp client (shared/http_client.py), so the event loop
never blocks. Sessions are created with the attempt id as idempotency key,
refunds with the refund's key; the library's own retries are off, the effects worker
retries with the same key (shared/effects.py).
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import stripe
from pydantic import BaseModel, ConfigDict, ValidationError

from services.payment.providers.base import (
    Callback,
    IgnoredCallback,
    InvalidCallback,
    MalformedCallback,
    ProviderError,
    RefundReceipt,
    Session,
    SessionRequest,
)
from shared.contracts.envelope import Money
from shared.http_client import KeptAlive, Unreachable, retry_after
from shared.logging import get_logger

log = get_logger(__name__)
SIGNATURE_HEADER = "Stripe-Signature"
# Stripe accepts an expiry from 30 minutes to 24 hours after creation; outside that the
# session keeps Stripe's default (24 hours) and a payment after the window is refunded.
EXPIRY_MIN_SECONDS = 30 * 60 + 60
EXPIRY_MAX_SECONDS = 24 * 3600 - 60


class _Object(BaseModel):
    """The parts of a Checkout Session that payment reads (a tolerant reader)."""

    model_config = ConfigDict(extra="ignore")

    id: str
    object: str
    status: str | None = None
    payment_status: str | None = None
    amount_total: int | None = None
    currency: str | None = None
    payment_intent: str | dict[str, Any] | None = None
    metadata: dict[str, str] = {}


class _Data(BaseModel):
    model_config = ConfigDict(extra="ignore")

    object: dict[str, Any]


class _Event(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    type: str
    created: int
    data: _Data


class StripeHttp(stripe.HTTPClient):
    """The stripe package's transport on shared/http_client.py: aiohttp, kept alive, with as
    many connections as calls in flight, TLS verified against the CA bundle the package
    ships (as its own clients do). The package builds each request (form encoding,
    Idempotency-Key, Stripe-Version) and reads each answer; a call that gets none is its
    APIConnectionError, as with its own clients."""

    name = "aiohttp"

    def __init__(self, *, timeout: float, concurrency: int) -> None:
        super().__init__()
        tls = ssl.create_default_context(cafile=stripe.ca_bundle_path)
        self.http = KeptAlive(timeout=timeout, concurrency=concurrency, tls=tls)

    async def request_async(
        self, method: str, url: str, headers: Mapping[str, str], post_data: Any = None
    ) -> tuple[bytes, int, Mapping[str, str]]:
        try:
            answer = await self.http.request(method, url, headers=dict(headers), data=post_data)
        except Unreachable as exc:
            message = f"Unexpected error communicating with Stripe (network error: {exc.kind})"
            raise stripe.APIConnectionError(message, should_retry=True) from exc
        return answer.body, answer.status, answer.headers

    def sleep_async(self, secs: float) -> Any:
        return asyncio.sleep(secs)

    async def close_async(self) -> None:
        await self.http.aclose()


class StripeProvider:
    name = "stripe"

    def __init__(
        self,
        *,
        api_key: str,
        webhook_secret: str,
        success_url: str,
        cancel_url: str | None = None,
        method_types: Mapping[str, list[str]] | None = None,
        api_base: str | None = None,
        tolerance_seconds: int = 300,
        timeout_seconds: float = 20.0,
        concurrency: int = 20,
        http_client: stripe.HTTPClient | None = None,
    ) -> None:
        self._http = http_client or StripeHttp(timeout=timeout_seconds, concurrency=concurrency)
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base} if api_base else None,
            http_client=self._http,
            max_network_retries=0,  # the effects worker retries, with the same key
        )
        self._secret = webhook_secret
        self._tolerance = tolerance_seconds
        self._success_url = success_url
        self._cancel_url = cancel_url
        self._method_types = dict(method_types or {"card": ["card"], "wallet": ["card"]})

    async def run(self, _runtime: object) -> None:
        """Background task of the service: on shutdown, closes the connections to Stripe."""
        try:
            await asyncio.Event().wait()
        finally:
            await self._http.close_async()

    async def create_session(self, request: SessionRequest) -> Session:
        order_id, method = request.order_id, request.method.value
        metadata = {"order_id": order_id, "attempt_id": request.attempt_id}
        params: dict[str, Any] = {
            "mode": "payment",
            "client_reference_id": request.attempt_id,
            "metadata": metadata,
            "payment_intent_data": {"metadata": metadata},
            "payment_method_types": self._method_types.get(method, ["card"]),
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": request.amount.currency.lower(),
                        "unit_amount": request.amount.amount,
                        "product_data": {"name": f"Order {order_id}"},
                    },
                }
            ],
            "success_url": self._success_url.format(order_id=order_id),
        }
        if self._cancel_url:
            params["cancel_url"] = self._cancel_url.format(order_id=order_id)
        if (expires_at := _expiry(request.expires_at)) is not None:
            params["expires_at"] = expires_at
        try:
            created = await self._client.v1.checkout.sessions.create_async(
                params,  # type: ignore[arg-type]  # a plain dict of the documented fields
                {"idempotency_key": request.attempt_id},
            )
        except stripe.StripeError as exc:
            raise provider_error(exc) from exc
        return Session(created.id, checkout_url=created.url)

    async def refund(self, reference: str, amount: Money, idempotency_key: str) -> RefundReceipt:
        """Refunds part of the payment `reference` names (a Payment Intent, or a charge)."""
        target = "charge" if reference.startswith(("ch_", "py_")) else "payment_intent"
        params: dict[str, Any] = {
            target: reference,
            "amount": amount.amount,
            "metadata": {"refund_id": idempotency_key},
        }
        try:
            refund = await self._client.v1.refunds.create_async(
                params,  # type: ignore[arg-type]
                {"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise provider_error(exc) from exc
        if refund.status in ("failed", "canceled"):
            raise ProviderError(f"refund_{refund.status}", transient=False)
        return RefundReceipt(refund.id)

    async def close_session(self, session_id: str, attempt_id: str) -> None:
        """Expires the Checkout Session (`POST /v1/checkout/sessions/{id}/expire`); Stripe
        refuses to expire one no longer open (paid, or expired already): nothing to do."""
        try:
            await self._client.v1.checkout.sessions.expire_async(session_id)
        except stripe.InvalidRequestError as exc:
            if exc.http_status == 400:
                log.info("Stripe session not open any more", session_id=session_id)
                return
            raise provider_error(exc) from exc
        except stripe.StripeError as exc:
            raise provider_error(exc) from exc

    async def query(self, session_id: str, attempt_id: str) -> Callback | None:
        """The session's outcome at Stripe, None while the customer may still pay."""
        try:
            found = await self._client.v1.checkout.sessions.retrieve_async(session_id)
        except stripe.StripeError as exc:
            raise provider_error(exc) from exc
        session = _Object.model_validate(found.to_dict())
        if session.metadata.get("attempt_id", attempt_id) != attempt_id:
            raise ProviderError("session_of_another_attempt", transient=False)
        if session.status == "complete" and session.payment_status in _PAID:
            outcome = "succeeded"
        elif session.status == "expired":
            outcome = "expired"
        else:
            return None
        return _callback(f"{session.id}:{outcome}", session, outcome, datetime.now(UTC))

    def verify_callback(self, headers: Mapping[str, str], body: bytes) -> Callback:
        """Checks `Stripe-Signature` with the stripe package (t=, one or more v1= HMAC-SHA256
        of "{t}.{body}" with the endpoint's secret, t within the tolerance) and reads it."""
        try:
            stripe.WebhookSignature.verify_header(
                body, headers.get(SIGNATURE_HEADER), self._secret, self._tolerance
            )
        except (stripe.SignatureVerificationError, UnicodeDecodeError) as exc:
            raise InvalidCallback(f"bad Stripe-Signature: {exc}") from exc
        try:
            event = _Event.model_validate_json(body)
        except ValidationError as exc:
            raise MalformedCallback(str(exc.errors()[:3])) from exc
        outcome = _OUTCOMES.get(event.type)
        if outcome is None:
            raise IgnoredCallback(f"event type {event.type}")
        try:
            session = _Object.model_validate(event.data.object)
        except ValidationError as exc:
            raise MalformedCallback(str(exc.errors()[:3])) from exc
        if "order_id" not in session.metadata:
            raise IgnoredCallback(f"session {session.id} was not opened by payment")
        if outcome == "succeeded" and session.payment_status not in _PAID:
            raise IgnoredCallback(f"session {session.id} completed, payment still pending")
        return _callback(event.id, session, outcome, datetime.fromtimestamp(event.created, UTC))


_PAID = ("paid", "no_payment_required")
_BUSY = ("lock_timeout", "idempotency_key_in_use")  # Stripe is still on it: ask again
_OUTCOMES = {
    "checkout.session.completed": "succeeded",
    "checkout.session.async_payment_succeeded": "succeeded",
    "checkout.session.async_payment_failed": "payment_failed",
    "checkout.session.expired": "expired",
}


def _callback(event_id: str, session: _Object, outcome: str, at: datetime) -> Callback:
    if session.amount_total is None or session.currency is None:
        raise MalformedCallback(f"session {session.id} has no amount_total or currency")
    try:
        amount = Money(amount=session.amount_total, currency=session.currency.upper())
    except ValidationError as exc:
        raise MalformedCallback(str(exc.errors()[:1])) from exc
    intent = session.payment_intent
    reference = intent.get("id") if isinstance(intent, dict) else intent
    succeeded = outcome == "succeeded"
    return Callback(
        event_id=event_id,
        session_id=session.id,
        order_id=session.metadata["order_id"],
        outcome="succeeded" if succeeded else "failed",
        amount=amount,
        reference=reference if succeeded else None,
        reason=None if succeeded else outcome,
        occurred_at=at,
    )


def _expiry(expires_at: datetime | None) -> int | None:
    """The session's expiry as Stripe takes it, when Stripe allows it."""
    if expires_at is None:
        return None
    seconds = expires_at.timestamp() - time.time()
    if EXPIRY_MIN_SECONDS <= seconds <= EXPIRY_MAX_SECONDS:
        return int(expires_at.timestamp())
    return None


def provider_error(exc: stripe.StripeError) -> ProviderError:
    """Stripe's failure as payment retries it: a network failure, a rate limit, Stripe's own
    trouble (5xx, a lock timeout) or its `Stripe-Should-Retry: true` are transient; a
    declined card, a refused request, a reused key with other parameters are not."""
    headers = exc.headers or {}
    should_retry = str(headers.get("Stripe-Should-Retry", "")).lower()
    status = exc.http_status or 0
    code = exc.code or type(exc).__name__
    if isinstance(exc, stripe.APIConnectionError):
        return ProviderError("provider_unreachable")
    if isinstance(exc, stripe.RateLimitError) or status == 429:
        return ProviderError("rate_limited", retry_after=retry_after(headers.get("Retry-After")))
    if isinstance(exc, stripe.AuthenticationError | stripe.PermissionError):
        log.error("Stripe refused our API key", error=code)
        return ProviderError(f"provider_auth_failed:{code}")  # a key to fix, then retried
    if should_retry == "true" or status >= 500 or code in _BUSY:
        return ProviderError(f"provider_unavailable:{status}")
    return ProviderError(f"stripe_{code}", transient=False)
