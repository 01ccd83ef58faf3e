"""HTTP routes of the payment service: provider callbacks, the order's payment, retries."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from services.payment import repository as repo
from services.payment.charges import apply_callback
from services.payment.deps import PaymentDeps
from services.payment.domain import AttemptStatus, payment_status, retry_refusal
from services.payment.metrics import AMOUNT_MISMATCHES, MISMATCHES
from services.payment.providers import InvalidCallback, MalformedCallback
from services.payment.sessions import open_attempt, when_opened
from shared.contracts.events.common import PaymentMethod
from shared.http import (
    ApiError,
    Conflict,
    NotFound,
    PathId,
    Unauthorized,
    Unprocessable,
    order_access,
)
from shared.logging import get_logger
from shared.openapi import errors
from shared.runtime import Runtime

router = APIRouter(prefix="/v1", tags=["payment"])
SESSION_WAIT_SECONDS = 5.0
log = get_logger(__name__)


class ProviderUnavailable(ApiError):
    status = 502


class RetryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    method: PaymentMethod


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _authorise(request: Request, order_id: str) -> None:
    order_access(request, order_id)


@router.post(
    "/webhooks/{provider}", responses=errors(401, 404, 422, s401="a missing or bad signature")
)
async def provider_callback(provider: PathId, request: Request) -> dict[str, str]:
    """A provider reports an outcome: verified on the raw body, applied once."""
    runtime = _runtime(request)
    deps: PaymentDeps = runtime.definition.deps
    adapter = deps.providers.get(provider)
    if adapter is None:
        raise NotFound("unknown_provider", f"no payment provider named {provider!r}")
    body = await request.body()
    try:
        callback = adapter.verify_callback(request.headers, body)
    except MalformedCallback as exc:
        raise Unprocessable("invalid_callback", str(exc), field="body") from exc
    except InvalidCallback as exc:
        log.warning("callback refused", provider=provider, error=str(exc))
        raise Unauthorized("invalid_signature", str(exc)) from exc
    async with runtime.unit(correlation_id=request.headers.get("X-Correlation-ID")) as unit:
        effect = await apply_callback(unit, provider, callback)
    if effect in MISMATCHES:  # counted once it is committed
        AMOUNT_MISMATCHES.labels(provider, effect).inc()
    if effect == "unknown_session":
        raise NotFound("unknown_session", "no payment request has this session")
    return {"status": "accepted", "effect": effect}


@router.get("/orders/{order_id}/payment", responses=errors(401, 403, 404))
async def get_payment(order_id: PathId, request: Request) -> dict[str, Any]:
    """Method, status, attempts, what was captured and refunded, and every ledger entry."""
    _authorise(request, order_id)
    async with _runtime(request).db.acquire() as conn:
        payment = await repo.get_payment(conn, order_id)
        if payment is None:
            raise NotFound("unknown_order", f"payment knows no order {order_id}")
        attempts = await repo.attempts_of(conn, order_id)
        entries = await repo.entries_of(conn, order_id)
        refunds = await repo.refunds_of(conn, order_id)
        totals = await repo.totals(conn, order_id)
    last = attempts[-1].status if attempts else None
    return {
        "order_id": order_id,
        "method": payment.method.value,
        "status": payment_status(payment, totals, last),
        "amount": {"amount": payment.amount, "currency": payment.currency},
        "payment_due_at": payment.payment_due_at,
        "paid_attempt_id": payment.paid_attempt_id,
        "order_ended": payment.ended,
        "currency": payment.currency,
        "captured": totals.captured,
        "refunded": totals.refunded,
        "net": totals.net,
        "attempts": [
            {
                "attempt_id": a.attempt_id,
                "number": a.number,
                "method": a.method.value,
                "status": a.status.value,
                "failure_reason": a.failure_reason,
                "checkout_url": a.checkout_url,
                "pay_link": a.pay_link,
                "created_at": a.created_at,
            }
            for a in attempts
        ],
        "ledger": [{k: v for k, v in vars(e).items() if k != "order_id"} for e in entries],
        "refunds": [{k: v for k, v in vars(r).items() if k != "order_id"} for r in refunds],
    }


@router.post(
    "/orders/{order_id}/payment/retry",
    status_code=201,
    responses=errors(401, 403, 404, 409, 502),
)
async def retry_payment(order_id: PathId, body: RetryRequest, request: Request) -> JSONResponse:
    """Opens a new payment request, with the same or another method, within the window."""
    _authorise(request, order_id)
    if body.method == PaymentMethod.CASH_ON_DELIVERY:
        raise Unprocessable(
            "method_not_allowed", "cash on delivery is chosen at checkout", field="method"
        )
    runtime = _runtime(request)
    async with runtime.unit(correlation_id=request.headers.get("X-Correlation-ID")) as unit:
        payment = await repo.get_payment(unit.conn, order_id, lock=True)
        if payment is None:
            raise NotFound("unknown_order", f"payment knows no order {order_id}")
        refusal = retry_refusal(payment, unit.now)
        if refusal is not None:
            totals = await repo.totals(unit.conn, order_id)
            attempts = await repo.attempts_of(unit.conn, order_id)
            status = payment_status(payment, totals, attempts[-1].status if attempts else None)
            raise Conflict(
                "payment_not_retryable",
                f"the payment cannot be retried: {refusal}",
                reason=refusal,
                status=status,
            )
        attempt = await open_attempt(unit, payment, body.method)
    # the provider opens the session after the commit; the shop gets its links when it
    # answers in time, else 202 and they follow in PaymentRequested (and on this order's view)
    attempt = await when_opened(runtime.db, attempt.attempt_id, SESSION_WAIT_SECONDS) or attempt
    if attempt.status == AttemptStatus.FAILED:
        raise ProviderUnavailable("provider_unavailable", attempt.failure_reason or "unknown")
    return JSONResponse(
        status_code=202 if attempt.status == AttemptStatus.PENDING else 201,
        content={
            "attempt_id": attempt.attempt_id,
            "status": attempt.status.value,
            "number": attempt.number,
            "method": attempt.method.value,
            "checkout_url": attempt.checkout_url,
            "pay_link": attempt.pay_link,
            "expires_at": payment.payment_due_at.isoformat() if payment.payment_due_at else None,
        },
    )
