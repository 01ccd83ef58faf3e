"""What the payment service needs from a payment provider, and what a provider tells it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from shared.contracts.envelope import Money
from shared.contracts.events.common import PaymentMethod


class ProviderError(Exception):
    """The provider refused or could not be reached; `transient` failures are worth retrying,
    not before `retry_after` seconds when the provider said so (HTTP 429's Retry-After)."""

    def __init__(
        self, reason: str, *, transient: bool = True, retry_after: float | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient
        self.retry_after = retry_after


class InvalidCallback(Exception):
    """A callback that is not provably from the provider (bad or stale signature)."""


class MalformedCallback(InvalidCallback):
    """Signed correctly, but the body is not a callback this provider sends."""


class IgnoredCallback(Exception):
    """Signed correctly, but about nothing payment acts on (another event type, another
    application's session, a trade still waiting for its buyer): acknowledged, so that the
    provider stops sending it."""


@dataclass(frozen=True)
class SessionRequest:
    order_id: str
    attempt_id: str
    method: PaymentMethod
    amount: Money
    expires_at: datetime | None


@dataclass(frozen=True)
class Session:
    session_id: str
    checkout_url: str | None = None
    pay_link: str | None = None


@dataclass(frozen=True)
class RefundReceipt:
    reference: str


@dataclass(frozen=True)
class Callback:
    """A provider's report of one outcome of one session."""

    event_id: str
    session_id: str
    order_id: str
    outcome: Literal["succeeded", "failed"]
    amount: Money
    reference: str | None
    reason: str | None
    occurred_at: datetime


class Provider(Protocol):
    """One payment provider. One whose callbacks must be answered with a plain body
    (Alipay: `success`) also has an `acknowledgement` attribute holding it."""

    name: str

    async def create_session(self, request: SessionRequest) -> Session:
        """Opens a payment session; idempotent on `request.attempt_id`."""
        ...

    async def refund(self, reference: str, amount: Money, idempotency_key: str) -> RefundReceipt:
        """Refunds part or all of a capture; idempotent on `idempotency_key`."""
        ...

    async def close_session(self, session_id: str, attempt_id: str) -> None:
        """Closes a session nobody should pay any more (its exchange was cancelled), so the
        customer cannot pay it; idempotent. A session paid meanwhile stays paid: its
        capture still arrives as a callback. Raises ProviderError."""
        ...

    def verify_callback(self, headers: Mapping[str, str], body: bytes) -> Callback:
        """Checks the signature and reads the body; raises InvalidCallback, or
        IgnoredCallback for a genuine one that reports nothing to apply."""
        ...

    async def query(self, session_id: str, attempt_id: str) -> Callback | None:
        """Asks the provider how the session ended, for a callback that may be lost: the
        outcome as its callback would say it, None while it is still pending. Raises
        ProviderError."""
        ...
