"""Refunds: approved by returns, or automatic for a late or duplicate charge.

Each refunds one charge through the provider that took it, never beyond what
is left of that charge; provider failures are retried by the `refund_retry`
timer with backoff, and the outcome is published as RefundPaid or RefundFailed.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from services.payment import repository as repo
from services.payment.deps import PaymentDeps, new_id
from services.payment.domain import LedgerEntry, Refund, refund_backoff
from services.payment.providers import ProviderError
from shared.contracts.envelope import Money
from shared.contracts.events.payment import RefundFailed, RefundPaid
from shared.logging import get_logger
from shared.unit import Unit

log = get_logger(component="refunds")
REFUND_RETRY = "refund_retry"


async def start_refund(
    unit: Unit,
    charge: LedgerEntry,
    amount: int,
    *,
    reason: str,
    refund_request_id: str | None = None,
    requested: int | None = None,
) -> Refund | None:
    """Records a refund of `charge` and pays it; None when it is recorded already."""
    refund = _refund(charge.order_id, charge, amount, reason, refund_request_id, requested)
    if not await repo.insert_refund(unit.conn, refund, unit.now):
        return None
    await pay_refund(unit, refund, charge)
    return refund


async def refuse_refund(
    unit: Unit, order_id: str, refund_request_id: str, requested: Money, why: str
) -> None:
    """An approval with nothing left to refund: reported once, never paid."""
    refund = _refund(order_id, None, 0, why, refund_request_id, requested.amount)
    refund = replace(refund, currency=requested.currency, status="failed", last_error=why)
    if await repo.insert_refund(unit.conn, refund, unit.now):
        failed = RefundFailed(
            refund_id=refund.refund_id,
            refund_request_id=refund_request_id,
            amount=requested,
            reason=why,
            will_retry=False,
        )
        await unit.emit(failed, order_id=order_id)


def _refund(
    order_id: str,
    charge: LedgerEntry | None,
    amount: int,
    reason: str,
    refund_request_id: str | None,
    requested: int | None,
) -> Refund:
    return Refund(
        refund_id=new_id("rfd"),
        order_id=order_id,
        refund_request_id=refund_request_id,
        charge_attempt_id=charge.attempt_id if charge else None,
        reason=reason,
        requested_amount=amount if requested is None else requested,
        amount=amount,
        currency=charge.currency if charge else "",
        status="pending",
        attempts=0,
        last_error=None,
    )


async def pay_refund(unit: Unit, refund: Refund, charge: LedgerEntry) -> None:
    """Asks the provider to pay a pending refund; failures retry on the `refund_retry` timer."""
    deps: PaymentDeps = unit.deps
    attempts = refund.attempts + 1
    try:
        receipt = await deps.provider(charge.provider).refund(
            charge.provider_reference,
            Money(amount=refund.amount, currency=refund.currency),
            idempotency_key=refund.refund_id,
        )
    except ProviderError as exc:
        await _refund_not_paid(unit, refund, attempts, exc)
        return
    await repo.add_entry(
        unit.conn,
        LedgerEntry(
            entry_id=new_id("led"),
            order_id=refund.order_id,
            kind="refund",
            purpose=refund.reason,
            amount=refund.amount,
            currency=refund.currency,
            attempt_id=charge.attempt_id,
            refund_id=refund.refund_id,
            provider=charge.provider,
            provider_reference=receipt.reference,
            recorded_at=unit.now,
        ),
    )
    await repo.update_refund(
        unit.conn,
        refund.refund_id,
        status="paid",
        attempts=attempts,
        provider_reference=receipt.reference,
        updated_at=unit.now,
    )
    await unit.emit(_refund_paid(refund, unit.now), order_id=refund.order_id)


async def _refund_not_paid(unit: Unit, refund: Refund, attempts: int, exc: ProviderError) -> None:
    deps: PaymentDeps = unit.deps
    will_retry = exc.transient and attempts < deps.refund_max_attempts
    await repo.update_refund(
        unit.conn,
        refund.refund_id,
        attempts=attempts,
        last_error=exc.reason,
        status="pending" if will_retry else "failed",
        updated_at=unit.now,
    )
    if will_retry:
        base, cap = deps.refund_retry_base_seconds, deps.refund_retry_max_seconds
        due = unit.now + refund_backoff(attempts, base, cap)
        # one timer per retry: a timer that fires is marked spent after its handler ran
        key = f"{refund.refund_id}:{attempts}"
        await unit.schedule(REFUND_RETRY, key, due, {"refund_id": refund.refund_id})
    if attempts == 1 or not will_retry:  # told once when it starts failing, once on giving up
        await unit.emit(_refund_failed(refund, exc.reason, will_retry), order_id=refund.order_id)
    log.warning("refund not paid", order_id=refund.order_id, attempts=attempts, retry=will_retry)


def _refund_paid(refund: Refund, now: datetime) -> RefundPaid:
    requested = None
    if refund.requested_amount != refund.amount:
        requested = Money(amount=refund.requested_amount, currency=refund.currency)
    return RefundPaid(
        refund_id=refund.refund_id,
        refund_request_id=refund.refund_request_id,
        amount=Money(amount=refund.amount, currency=refund.currency),
        reason=refund.reason,
        paid_at=now,
        requested_amount=requested,
    )


def _refund_failed(refund: Refund, reason: str, will_retry: bool) -> RefundFailed:
    return RefundFailed(
        refund_id=refund.refund_id,
        refund_request_id=refund.refund_request_id,
        amount=Money(amount=refund.amount, currency=refund.currency),
        reason=reason,
        will_retry=will_retry,
    )
