"""Charges: applying what providers report, and saving what a report settles.

Inside the caller's unit (one transaction). The order's payment row is locked first, so
one order's money changes one at a time; the ledger's unique indexes back "one charge per
order".
"""

from __future__ import annotations

from services.payment import metrics
from services.payment import repository as repo
from services.payment.deps import Deps
from services.payment.domain import (
    Attempt,
    PaymentState,
    Settlement,
    attempt_failed,
    settle_failure,
    settle_success,
)
from services.payment.metrics import MISMATCHES
from services.payment.providers import Callback
from services.payment.steps.exchanges import apply_exchange_callback
from services.payment.steps.refunds import start_refund
from shared.logging import get_logger
from shared.unit import Unit

log = get_logger(__name__)


async def apply_callback(unit: Unit[Deps], provider: str, callback: Callback) -> str:
    """Applies one verified provider callback; returns its effect (for the reply and the log)."""
    attempt = await repo.attempt_by_session(unit.conn, provider, callback.session_id)
    if attempt is None:  # not the order's own request: an exchange's, or none
        exchange = await repo.exchange_charge_by_session(unit.conn, provider, callback.session_id)
        if exchange is None or exchange.order_id != callback.order_id:
            return "unknown_session"
        return await apply_exchange_callback(unit, provider, exchange, callback)
    if attempt.order_id != callback.order_id:
        return "unknown_session"
    payment = await repo.get_payment(unit.conn, attempt.order_id, lock=True)
    assert payment is not None, "an attempt always belongs to a payment"
    if callback.outcome == "succeeded":
        charged = await repo.charge_of(unit.conn, attempt.attempt_id) is not None
        settled = settle_success(
            payment,
            attempt,
            charged=charged,
            amount=callback.amount,
            reference=callback.reference or callback.event_id,
            paid_at=callback.occurred_at,
            now=unit.now,
        )
    else:
        settled = settle_failure(payment, attempt, callback.reason or "unknown", unit.now)
    # Claimed with what it settled, once: a twin (after this commits) finds it and stops.
    claimed = await repo.claim_provider_event(
        unit.conn, provider, callback.event_id, attempt.order_id, callback.outcome, settled.effect
    )
    if not claimed:
        return "duplicate"
    if settled.effect in MISMATCHES:
        log.warning(
            "captured amount differs from what is due",
            order_id=payment.order_id,
            attempt_id=attempt.attempt_id,
            capture=settled.effect,
            due=f"{payment.amount} {payment.currency}",
            captured=f"{callback.amount.amount} {callback.amount.currency}",
        )
    await record(unit, attempt, settled)
    if settled.pays:
        log.info("paid", order_id=payment.order_id, attempt_id=attempt.attempt_id)
    else:
        log.debug("provider callback applied", order_id=payment.order_id, effect=settled.effect)
    return settled.effect


async def fail_attempt(
    unit: Unit[Deps], payment: PaymentState, attempt: Attempt, reason: str
) -> None:
    """The attempt failed: the customer is told why, and whether to pay again."""
    await record(unit, attempt, attempt_failed(payment, attempt, reason, unit.now))


async def record(unit: Unit[Deps], attempt: Attempt, settled: Settlement) -> None:
    """Saves what a report settled, in one go: the ledger entry, the attempt's status, the
    order paid, the event, and the refund of what the order does not keep (published
    before it, in the same transaction)."""
    paying = settled.pays and settled.entry is not None and settled.status is not None
    if paying and settled.failure_reason is None:  # the common case, in one statement
        assert settled.entry is not None and settled.status is not None
        await repo.record_payment(
            unit.conn,
            settled.entry,
            attempt.attempt_id,
            attempt.order_id,
            settled.status,
            unit.now,
        )
    else:
        await _record_apart(unit, attempt, settled)
    if settled.event is not None:
        await unit.emit(settled.event, order_id=attempt.order_id)
        metrics.settled(unit, settled.event, settled.pays)
    if settled.refund is not None and settled.entry is not None:
        await start_refund(unit, settled.entry, settled.refund, reason=settled.effect)


async def _record_apart(unit: Unit[Deps], attempt: Attempt, settled: Settlement) -> None:
    if settled.entry is not None:
        await repo.add_entry(unit.conn, settled.entry)
    if settled.status is not None:
        await repo.set_attempt_status(
            unit.conn, attempt.attempt_id, settled.status, unit.now, settled.failure_reason
        )
    if settled.pays:
        await repo.mark_paid(unit.conn, attempt.order_id, attempt.attempt_id, unit.now)
