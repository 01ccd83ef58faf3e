"""Charges: opening payment requests and applying what providers report.

Used by handlers and HTTP views alike, inside the caller's unit (one
transaction). The order's payment row is locked first, so one order's money
changes one at a time; the ledger's unique indexes back "one charge per order".
"""

from __future__ import annotations

from datetime import datetime

from services.payment import repository as repo
from services.payment.deps import new_id
from services.payment.domain import (
    Attempt,
    AttemptStatus,
    Capture,
    Charge,
    LedgerEntry,
    PaymentState,
    classify_success,
    compare_capture,
    failure_counts,
    failure_message,
    window_open,
)
from services.payment.providers import Callback
from services.payment.refunds import start_refund
from shared.contracts.envelope import Money
from shared.contracts.events.payment import (
    PaymentFailed,
    PaymentSucceeded,
)
from shared.logging import get_logger
from shared.unit import Unit

log = get_logger(__name__)


async def apply_callback(unit: Unit, provider: str, callback: Callback) -> str:
    """Applies one verified provider callback; returns its effect (for the reply and the log)."""
    attempt = await repo.attempt_by_session(unit.conn, provider, callback.session_id)
    if attempt is None or attempt.order_id != callback.order_id:
        return "unknown_session"
    payment = await repo.get_payment(unit.conn, attempt.order_id, lock=True)
    assert payment is not None, "an attempt always belongs to a payment"
    if not await repo.claim_provider_event(
        unit.conn, provider, callback.event_id, attempt.order_id, callback.outcome
    ):
        return "duplicate"
    if callback.outcome == "succeeded":
        effect = await _succeeded(unit, payment, attempt, callback)
    else:
        effect = await _failed(unit, payment, attempt, callback.reason or "unknown")
    await repo.set_provider_event_effect(unit.conn, provider, callback.event_id, effect)
    log.info("provider callback applied", order_id=payment.order_id, effect=effect)
    return effect


async def _succeeded(
    unit: Unit, payment: PaymentState, attempt: Attempt, callback: Callback
) -> str:
    charged = await repo.charge_of(unit.conn, attempt.attempt_id)
    kind = classify_success(payment, attempt_charged=charged is not None)
    if kind == Charge.ALREADY_APPLIED:
        return kind.value
    reference = callback.reference or callback.event_id
    if kind != Charge.PAYMENT:
        charge = await record_charge(
            unit, attempt, kind, callback.amount, reference, callback.occurred_at
        )
        await start_refund(unit, charge, charge.amount, reason=kind.value)
        return kind.value
    capture = compare_capture(payment, callback.amount.amount, callback.amount.currency)
    if capture == Capture.EXACT:
        await record_charge(unit, attempt, kind, callback.amount, reference, callback.occurred_at)
        return kind.value
    log.warning(
        "captured amount differs from what is due",
        order_id=payment.order_id,
        attempt_id=attempt.attempt_id,
        capture=capture.value,
        due=f"{payment.amount} {payment.currency}",
        captured=f"{callback.amount.amount} {callback.amount.currency}",
    )
    if capture == Capture.OVERPAID:
        charge = await record_charge(
            unit, attempt, kind, callback.amount, reference, callback.occurred_at
        )
        await start_refund(unit, charge, charge.amount - payment.amount, reason=capture.value)
        return capture.value
    await _not_paid(unit, payment, attempt, capture, callback.amount, reference)
    return capture.value


async def _not_paid(
    unit: Unit,
    payment: PaymentState,
    attempt: Attempt,
    capture: Capture,
    amount: Money,
    reference: str,
) -> None:
    """Less than due, or another currency: the capture is kept in the ledger under what went
    wrong and refunded in full; the order stays unpaid and the customer may pay again."""
    charge = _entry(unit, attempt, capture.value, amount, reference)
    await repo.add_entry(unit.conn, charge)
    await fail_attempt(unit, payment, attempt, capture.value)
    await start_refund(unit, charge, charge.amount, reason=capture.value)


def _entry(
    unit: Unit, attempt: Attempt, purpose: str, amount: Money, reference: str
) -> LedgerEntry:
    return LedgerEntry(
        entry_id=new_id("led"),
        order_id=attempt.order_id,
        kind="charge",
        purpose=purpose,
        amount=amount.amount,
        currency=amount.currency,
        attempt_id=attempt.attempt_id,
        refund_id=None,
        provider=attempt.provider,
        provider_reference=reference,
        recorded_at=unit.now,
    )


async def record_charge(
    unit: Unit,
    attempt: Attempt,
    kind: Charge,
    amount: Money,
    reference: str,
    paid_at: datetime,
) -> LedgerEntry:
    """Money captured for `attempt`: the order's payment, or a late or duplicate charge."""
    entry = _entry(unit, attempt, kind.value, amount, reference)
    await repo.add_entry(unit.conn, entry)
    await repo.set_attempt_status(unit.conn, attempt.attempt_id, AttemptStatus.SUCCEEDED, unit.now)
    if kind == Charge.PAYMENT:
        await repo.mark_paid(unit.conn, attempt.order_id, attempt.attempt_id, unit.now)
    # every capture is published, so what others count as paid matches the ledger;
    # a late or duplicate one is followed by its refund in the same transaction
    await unit.emit(
        PaymentSucceeded(
            attempt_id=attempt.attempt_id,
            method=attempt.method,
            amount=amount,
            provider=attempt.provider,
            provider_reference=reference,
            paid_at=paid_at,
        ),
        order_id=attempt.order_id,
    )
    return entry


async def _failed(unit: Unit, payment: PaymentState, attempt: Attempt, reason: str) -> str:
    if not failure_counts(payment, attempt.status):
        return "stale_failure"
    await fail_attempt(unit, payment, attempt, reason)
    return "failed"


async def fail_attempt(unit: Unit, payment: PaymentState, attempt: Attempt, reason: str) -> None:
    """The attempt failed: the customer is told why, and whether to pay again."""
    await repo.set_attempt_status(
        unit.conn, attempt.attempt_id, AttemptStatus.FAILED, unit.now, reason
    )
    await unit.emit(
        PaymentFailed(
            attempt_id=attempt.attempt_id,
            method=attempt.method,
            reason=reason,
            message=failure_message(reason),
            retry_allowed=window_open(payment, unit.now),
        ),
        order_id=payment.order_id,
    )
