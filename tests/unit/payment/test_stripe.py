"""How Stripe's failures are retried, and what a session's state at Stripe means."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import stripe

from services.payment.providers.stripe import (
    StripeProvider,
    _expiry,
    provider_error,
)
from tests.support.stripe import API_KEY, WEBHOOK_SECRET, checkout_session


@pytest.mark.parametrize(
    ("error", "transient", "reason"),
    [
        (stripe.APIConnectionError("reset"), True, "provider_unreachable"),
        (
            stripe.RateLimitError("slow down", http_status=429, code="rate_limit"),
            True,
            "rate_limited",
        ),
        (stripe.APIError("boom", http_status=500), True, "provider_unavailable:500"),
        (stripe.APIError("busy", http_status=409, code="lock_timeout"), True, None),
        (
            stripe.IdempotencyError("in use", http_status=409, code="idempotency_key_in_use"),
            True,
            None,
        ),
        (
            stripe.InvalidRequestError(
                "x", "amount", http_status=400, headers={"Stripe-Should-Retry": "true"}
            ),
            True,
            None,
        ),
        (
            stripe.CardError("declined", "card", "card_declined", http_status=402),
            False,
            "stripe_card_declined",
        ),
        (
            stripe.InvalidRequestError(
                "no such", "payment_intent", code="resource_missing", http_status=404
            ),
            False,
            "stripe_resource_missing",
        ),
        (
            stripe.IdempotencyError("other params", http_status=400, code="idempotency_error"),
            False,
            None,
        ),
        (stripe.AuthenticationError("bad key", http_status=401), True, None),
    ],
)
def test_failures_are_transient_or_not_as_stripe_documents(
    error: stripe.StripeError, transient: bool, reason: str | None
) -> None:
    mapped = provider_error(error)
    assert mapped.transient is transient
    if reason is not None:
        assert mapped.reason == reason


def test_a_rate_limit_carries_its_retry_after() -> None:
    error = stripe.RateLimitError("slow", http_status=429, headers={"Retry-After": "7"})
    assert provider_error(error).retry_after == 7.0
    assert provider_error(stripe.RateLimitError("slow", http_status=429)).retry_after is None


def test_an_expiry_is_sent_only_within_stripes_limits() -> None:
    now = datetime.now(UTC)
    assert _expiry(now + timedelta(hours=3)) == int((now + timedelta(hours=3)).timestamp())
    assert _expiry(now + timedelta(minutes=10)) is None, "Stripe takes 30 minutes at least"
    assert _expiry(now + timedelta(days=3)) is None, "and 24 hours at most"
    assert _expiry(None) is None


class Answers(stripe.HTTPClient):
    """Answers every call with one Checkout Session object, as Stripe's API returns it."""

    name = "answers"

    def __init__(self, body: Mapping[str, Any]) -> None:
        super().__init__()
        self.body = json.dumps(body).encode()

    async def request_async(
        self, method: str, url: str, headers: Mapping[str, str], post_data: Any = None
    ) -> tuple[bytes, int, Mapping[str, str]]:
        return self.body, 200, {"Request-Id": "req_1"}

    def sleep_async(self, secs: float) -> Any:
        raise AssertionError("no retries inside the client")


def stripe_with(**session: Any) -> StripeProvider:
    body = checkout_session("cs_q", order_id="ord_q", attempt_id="pat_q", amount=900, **session)
    return StripeProvider(
        api_key=API_KEY,
        webhook_secret=WEBHOOK_SECRET,
        success_url="https://s/",
        http_client=Answers(body),
    )


async def test_a_paid_session_queried_is_a_success_with_its_payment_intent() -> None:
    callback = await stripe_with().query("cs_q", "pat_q")
    assert callback is not None
    assert (callback.outcome, callback.order_id, callback.amount.amount) == (
        "succeeded",
        "ord_q",
        900,
    )
    assert callback.reference and callback.reference.startswith("pi_")
    assert callback.event_id == "cs_q:succeeded", "the same answer each time it is asked"


async def test_an_expired_session_queried_is_a_failure_and_an_open_one_is_pending() -> None:
    expired = await stripe_with(status="expired", payment_status="unpaid").query("cs_q", "pat_q")
    assert expired is not None and (expired.outcome, expired.reason) == ("failed", "expired")
    assert await stripe_with(status="open", payment_status="unpaid").query("cs_q", "pat_q") is None
    assert (
        await stripe_with(status="complete", payment_status="unpaid").query("cs_q", "pat_q") is None
    )
