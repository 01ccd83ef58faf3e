"""A sandbox provider that behaves like an external one.

It serves checkout sessions (see `sandbox_views`), and when told how a session
ends it reports the outcome to the payment service's webhook over real HTTP,
signed, asynchronously: once, several times (`repeat`) or late (`delay_seconds`),
on a kept-alive client of its own (shared/http_client.py).
Session ids are signed and self-describing, so sessions survive a restart.
It can also be told to fail the next refunds, to exercise refund retries.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError

from services.payment.providers.base import (
    Callback,
    InvalidCallback,
    MalformedCallback,
    ProviderError,
    RefundReceipt,
    Session,
    SessionRequest,
)
from shared import signing
from shared.backoff import capped_backoff
from shared.contracts.envelope import Money
from shared.contracts.events.common import PaymentMethod
from shared.http_client import KeptAlive, Send, Unreachable
from shared.logging import get_logger

log = get_logger(__name__)
# How long a callback the webhook does not take is retried, and the longest pause between
# two tries: short, so that a payment service back from an outage hears of it at once.
DELIVERY_HORIZON_SECONDS = 3 * 86_400.0
DELIVERY_BACKOFF_MAX_SECONDS = 2.0
DELIVERY_TIMEOUT_SECONDS = 10.0


class CallbackBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    type: Literal["payment.succeeded", "payment.failed"]
    session_id: str
    order_id: str
    attempt_id: str
    amount: Money
    reference: str | None = None
    reason: str | None = None
    occurred_at: AwareDatetime


@dataclass(frozen=True)
class SandboxSession:
    session_id: str
    order_id: str
    attempt_id: str
    method: PaymentMethod
    amount: Money


class SandboxProvider:
    name = "sandbox"
    hosts_pay_links = True  # its pay-for-me page is a short signed link on this service

    def __init__(
        self,
        *,
        secret: str,
        public_url: str,
        webhook_url: str,
        tolerance_seconds: int = 300,
        concurrency: int = 20,
        send: Send | None = None,
    ) -> None:
        self._secret = secret
        self._tolerance = tolerance_seconds
        self._public_url = public_url.rstrip("/")
        self.webhook_url = webhook_url
        self.outcomes: dict[str, str] = {}
        self._refunds: dict[str, RefundReceipt] = {}
        self.refunds_paid: list[tuple[str, Money]] = []  # (capture reference, amount), in order
        self.sessions_opened: list[tuple[str, str]] = []  # (order id, attempt id), in order
        self.sessions_closed: list[str] = []  # session ids, in order
        self._refund_failures: list[str] = []
        self._sending: set[asyncio.Task[None]] = set()
        self._told: dict[str, dict[str, Any]] = {}  # session id -> the callback it sends
        # as many connections as callbacks in flight; `send` (tests) answers instead
        self.http = KeptAlive(timeout=DELIVERY_TIMEOUT_SECONDS, concurrency=concurrency, send=send)

    async def create_session(self, request: SessionRequest) -> Session:
        claims = {
            "o": request.order_id,
            "a": request.attempt_id,
            "m": request.method.value,
            "v": request.amount.amount,
            "c": request.amount.currency,
        }
        blob = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
        session_id = f"{blob}.{self._mac(blob)}"  # the same attempt always gets the same id
        self.sessions_opened.append((request.order_id, request.attempt_id))
        if request.method == PaymentMethod.PAY_FOR_ME:
            return Session(session_id, pay_link=f"{self._public_url}/sandbox/pay/{session_id}")
        return Session(session_id, checkout_url=f"{self._public_url}/sandbox/checkout/{session_id}")

    def session(self, session_id: str) -> SandboxSession | None:
        blob, _, mac = session_id.partition(".")
        given = mac.encode("utf-8", "surrogatepass")
        if not mac or not hmac.compare_digest(given, self._mac(blob).encode()):
            return None
        claims = json.loads(base64.urlsafe_b64decode(blob + "=" * (-len(blob) % 4)))
        return SandboxSession(
            session_id,
            claims["o"],
            claims["a"],
            PaymentMethod(claims["m"]),
            Money(amount=claims["v"], currency=claims["c"]),
        )

    def _mac(self, blob: str) -> str:
        key, data = self._secret.encode(), blob.encode("utf-8", "surrogatepass")
        return hmac.new(key, data, hashlib.sha256).hexdigest()[:32]

    async def refund(self, reference: str, amount: Money, idempotency_key: str) -> RefundReceipt:
        if idempotency_key in self._refunds:
            return self._refunds[idempotency_key]
        if self._refund_failures:
            raise ProviderError(self._refund_failures.pop(0))
        receipt = RefundReceipt(f"sbx_rf_{uuid.uuid4().hex[:16]}")
        self._refunds[idempotency_key] = receipt
        self.refunds_paid.append((reference, amount))
        return receipt

    async def close_session(self, session_id: str, attempt_id: str) -> None:
        """Closes the checkout page: it can no longer be completed (a session already ended
        keeps its outcome)."""
        self.outcomes.setdefault(session_id, "closed")
        self.sessions_closed.append(session_id)

    def fail_next_refunds(self, count: int, reason: str = "provider_unavailable") -> None:
        self._refund_failures.extend([reason] * count)

    def verify_callback(self, headers: Mapping[str, str], body: bytes) -> Callback:
        try:
            signing.verify(
                self._secret, headers.get(signing.HEADER), body, tolerance=self._tolerance
            )
        except signing.SignatureError as exc:
            raise InvalidCallback(str(exc)) from exc
        try:
            parsed = CallbackBody.model_validate_json(body)
        except ValidationError as exc:
            raise MalformedCallback(str(exc.errors()[:3])) from exc
        return _callback(parsed)

    async def query(self, session_id: str, attempt_id: str) -> Callback | None:
        """How the session ended, as its callback says it (whether or not that arrived);
        None until it is told (the sandbox remembers outcomes until it restarts)."""
        told = self._told.get(session_id)
        return None if told is None else _callback(CallbackBody.model_validate(told))

    def complete(
        self,
        session: SandboxSession,
        *,
        outcome: Literal["succeed", "fail"],
        reason: str | None,
        repeat: int = 1,
        delay_seconds: float = 0.0,
    ) -> dict[str, Any]:
        """Ends the session as told; the callback(s) follow asynchronously."""
        succeeded = outcome == "succeed"
        body = {
            "id": f"evt_{uuid.uuid4().hex}",
            "type": "payment.succeeded" if succeeded else "payment.failed",
            "session_id": session.session_id,
            "order_id": session.order_id,
            "attempt_id": session.attempt_id,
            "amount": session.amount.model_dump(),
            "reference": f"sbx_ch_{uuid.uuid4().hex[:16]}" if succeeded else None,
            "reason": None if succeeded else (reason or "card_declined"),
            "occurred_at": datetime.now(UTC).isoformat(),
        }
        self.outcomes[session.session_id] = "succeeded" if succeeded else "failed"
        self._told[session.session_id] = body
        task = asyncio.ensure_future(self._send(json.dumps(body).encode(), repeat, delay_seconds))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)
        return {"event_id": body["id"], "callbacks": repeat, "delay_seconds": delay_seconds}

    async def _send(self, body: bytes, repeat: int, delay_seconds: float) -> None:
        await asyncio.sleep(delay_seconds)
        for _ in range(repeat):
            await self._deliver(body)

    async def _deliver(self, body: bytes) -> None:
        """Like a real provider: retries with capped backoff until the webhook answers below
        500, for up to DELIVERY_HORIZON_SECONDS (Stripe retries for three days). A payment
        service whose database is down answers 503 meanwhile; giving up after a few seconds
        would leave a paid order `placed` until reconciliation, which a real provider never
        does."""
        given_up = time.monotonic() + DELIVERY_HORIZON_SECONDS
        attempt = 0
        while True:
            attempt += 1
            headers = {signing.HEADER: signing.sign(self._secret, body)}
            headers["Content-Type"] = "application/json"
            try:
                answer = await self.http.request(
                    "POST", self.webhook_url, data=body, headers=headers
                )
                if answer.status < 500:
                    return
                log.warning("callback refused", attempt=attempt, status=answer.status)
            except Unreachable as exc:
                log.warning("callback delivery failed", attempt=attempt, error=repr(exc))
            wait = capped_backoff(attempt, 0.5, DELIVERY_BACKOFF_MAX_SECONDS).total_seconds()
            if time.monotonic() + wait > given_up:
                log.error("callback given up", attempts=attempt)
                return
            await asyncio.sleep(wait)

    @property
    def in_flight(self) -> int:
        """Callbacks told but not yet delivered."""
        return len(self._sending)

    async def run(self, _runtime: object) -> None:
        """Background task of the service: on shutdown, stops callbacks still in flight and
        closes its connections."""
        try:
            await asyncio.Event().wait()
        finally:
            for task in list(self._sending):
                task.cancel()
            await self.http.aclose()


def _callback(parsed: CallbackBody) -> Callback:
    return Callback(
        event_id=parsed.id,
        session_id=parsed.session_id,
        order_id=parsed.order_id,
        outcome="succeeded" if parsed.type == "payment.succeeded" else "failed",
        amount=parsed.amount,
        reference=parsed.reference,
        reason=parsed.reason,
        occurred_at=parsed.occurred_at,
    )
