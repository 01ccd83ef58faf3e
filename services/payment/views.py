"""HTTP routes of the payment service: provider callbacks, the order's payment, retries."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict

from services.payment.deps import Deps
from services.payment.domain import (
    Attempt,
    AttemptStatus,
    CashMismatch,
    Overview,
    payment_status,
)
from services.payment.domain.exchanges import ExchangeCharge
from services.payment.metrics import AMOUNT_MISMATCHES, MISMATCHES
from services.payment.providers import IgnoredCallback, InvalidCallback, MalformedCallback
from services.payment.repository import cash_mismatches
from services.payment.steps.charges import apply_callback
from services.payment.steps.orders import overview
from services.payment.steps.reconcile import daily_report
from services.payment.steps.sessions import pay_again, when_opened
from shared.contracts.events.common import PaymentMethod
from shared.http import (
    ApiError,
    Conflict,
    NotFound,
    PathId,
    Unauthorized,
    Unprocessable,
    order_access,
    require_role,
    service_of,
)
from shared.logging import get_logger
from shared.openapi import errors

router = APIRouter(prefix="/v1", tags=["payment"])
SESSION_WAIT_SECONDS = 5.0
log = get_logger(__name__)


class ProviderUnavailable(ApiError):
    status = 502


class RetryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    method: PaymentMethod


# The answer to a provider: what its callback did, or the plain acknowledgement a
# provider wants (Alipay: `success`).
_ACCEPTED: dict[str, Any] = {
    "description": "applied, or known already",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {"status": {"type": "string"}, "effect": {"type": "string"}},
                "required": ["status", "effect"],
            }
        },
        "text/plain": {"schema": {"type": "string", "example": "success"}},
    },
}


def _unknown(order_id: str) -> NotFound:
    return NotFound("unknown_order", f"payment knows no order {order_id}")


@router.post(
    "/webhooks/{provider}",
    response_model=None,
    responses={**errors(401, 404, 422, s401="a missing or bad signature"), 200: _ACCEPTED},
)
async def provider_callback(
    provider: PathId, request: Request
) -> dict[str, str] | PlainTextResponse:
    """A provider reports an outcome: verified on the raw body, applied once. A provider
    that wants a plain acknowledgement (Alipay: `success`) gets it once it is applied."""
    service = service_of(request, Deps)
    adapter = service.deps.providers.get(provider)
    if adapter is None:
        raise NotFound("unknown_provider", f"no payment provider named {provider!r}")
    body = await request.body()
    ack: str | None = getattr(adapter, "acknowledgement", None)
    try:
        callback = adapter.verify_callback(request.headers, body)
    except IgnoredCallback as exc:  # acknowledged, else the provider sends it again
        log.info("callback ignored", provider=provider, about=str(exc))
        return PlainTextResponse(ack) if ack else {"status": "ignored", "effect": "none"}
    except MalformedCallback as exc:
        raise Unprocessable("invalid_callback", str(exc), field="body") from exc
    except InvalidCallback as exc:
        log.warning("callback refused", provider=provider, error=str(exc))
        raise Unauthorized("invalid_signature", str(exc)) from exc
    async with service.unit(correlation_id=request.headers.get("X-Correlation-ID")) as unit:
        effect = await apply_callback(unit, provider, callback)
    if effect in MISMATCHES:  # counted once it is committed
        AMOUNT_MISMATCHES.labels(provider, effect).inc()
    if effect == "unknown_session":
        raise NotFound("unknown_session", "no payment request has this session")
    return PlainTextResponse(ack) if ack else {"status": "accepted", "effect": effect}


def ops_key(request: Request) -> None:
    require_role(request, "ops")


@router.get("/ops/reconciliation", dependencies=[Depends(ops_key)], responses=errors(401, 403, 422))
async def reconciliation(
    request: Request,
    day: Annotated[date, Query(alias="date", description="a UTC day, YYYY-MM-DD")],
    check: Annotated[bool, Query(description="also ask the providers about each attempt")] = True,
) -> dict[str, Any]:
    """The day's captured, refunded and disputed totals per provider from the ledger, and
    (unless `check=false`) each attempt of the day compared with what its provider says."""
    return await daily_report(service_of(request, Deps), day, check=check)


@router.get("/ops/cod-mismatches", dependencies=[Depends(ops_key)], responses=errors(401, 403, 422))
async def cod_mismatches(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=500, description="at most this many")] = 100,
) -> dict[str, Any]:
    """Cash-on-delivery orders whose courier collected another amount than was due (short,
    over, or another currency), newest first: what was due and what was collected."""
    async with service_of(request, Deps).unit() as unit:
        found = await cash_mismatches(unit.conn, limit)
    return {"mismatches": [_mismatch(m) for m in found]}


def _mismatch(m: CashMismatch) -> dict[str, Any]:
    return {
        "order_id": m.order_id,
        "attempt_id": m.attempt_id,
        "shipment_id": m.shipment_id,
        "kind": m.kind,
        "due": m.due.model_dump(),
        "collected": m.collected.model_dump(),
        "delivered_at": m.delivered_at,
        "recorded_at": m.recorded_at,
    }


@router.get("/orders/{order_id}/payment", responses=errors(401, 403, 404))
async def get_payment(order_id: PathId, request: Request) -> dict[str, Any]:
    """Method, status, attempts, what was captured and refunded, and every ledger entry."""
    order_access(request, order_id)
    async with service_of(request, Deps).unit() as unit:
        found = await overview(unit, order_id)
    if found is None:
        raise _unknown(order_id)
    return _present(found)


def _present(found: Overview) -> dict[str, Any]:
    payment, totals = found.payment, found.totals
    return {
        "order_id": payment.order_id,
        "method": payment.method.value,
        "status": payment_status(payment, totals, found.last_attempt),
        "amount": {"amount": payment.amount, "currency": payment.currency},
        "payment_due_at": payment.payment_due_at,
        "paid_attempt_id": payment.paid_attempt_id,
        "order_ended": payment.ended,
        "currency": payment.currency,
        "captured": totals.captured,
        "refunded": totals.refunded,
        "net": totals.net,
        "attempts": [_attempt(a) for a in found.attempts],
        "ledger": [{k: v for k, v in vars(e).items() if k != "order_id"} for e in found.entries],
        "refunds": [{k: v for k, v in vars(r).items() if k != "order_id"} for r in found.refunds],
        "exchanges": [_exchange(x) for x in found.exchanges],
    }


def _exchange(x: ExchangeCharge) -> dict[str, Any]:
    """An exchange's charge: apart from the order's attempts, its capture in the ledger."""
    return {
        "exchange_id": x.exchange_id,
        "attempt_id": x.attempt_id,
        "method": x.method.value,
        "provider": x.provider,
        "amount": {"amount": x.amount, "currency": x.currency},
        "status": x.status.value,
        "failure_reason": x.failure_reason,
        "checkout_url": x.checkout_url,
        "pay_by": x.pay_by,
        "created_at": x.created_at,
    }


def _attempt(a: Attempt) -> dict[str, Any]:
    return {
        "attempt_id": a.attempt_id,
        "number": a.number,
        "method": a.method.value,
        "status": a.status.value,
        "failure_reason": a.failure_reason,
        "checkout_url": a.checkout_url,
        "pay_link": a.pay_link,
        "created_at": a.created_at,
    }


@router.post(
    "/orders/{order_id}/payment/retry",
    status_code=201,
    responses=errors(401, 403, 404, 409, 502),
)
async def retry_payment(order_id: PathId, body: RetryRequest, request: Request) -> JSONResponse:
    """Opens a new payment request, with the same or another method, within the window."""
    order_access(request, order_id)
    if body.method == PaymentMethod.CASH_ON_DELIVERY:
        raise Unprocessable(
            "method_not_allowed", "cash on delivery is chosen at checkout", field="method"
        )
    service = service_of(request, Deps)
    async with service.unit(correlation_id=request.headers.get("X-Correlation-ID")) as unit:
        retried = await pay_again(unit, order_id, body.method)
    if retried is None:
        raise _unknown(order_id)
    if retried.attempt is None:
        raise Conflict(
            "payment_not_retryable",
            f"the payment cannot be retried: {retried.refusal}",
            reason=retried.refusal,
            payment_status=retried.status,
        )
    # the provider opens the session after the commit; the shop gets its links when it
    # answers in time, else 202 and they follow in PaymentRequested (and on this order's view)
    attempt = await when_opened(service.db, retried.attempt.attempt_id, SESSION_WAIT_SECONDS)
    attempt = attempt or retried.attempt
    if attempt.status == AttemptStatus.FAILED:
        raise ProviderUnavailable("provider_unavailable", attempt.failure_reason or "unknown")
    due = retried.payment.payment_due_at
    return JSONResponse(
        status_code=202 if attempt.status == AttemptStatus.PENDING else 201,
        content={
            "attempt_id": attempt.attempt_id,
            "status": attempt.status.value,
            "number": attempt.number,
            "method": attempt.method.value,
            "checkout_url": attempt.checkout_url,
            "pay_link": attempt.pay_link,
            "expires_at": due.isoformat() if due else None,
        },
    )
