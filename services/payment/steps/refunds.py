"""Refunds: approved by returns, or automatic for a late, duplicate or mismatched charge.

Each refunds one charge through the provider that took it, never beyond what is left of
that charge (an approval draws on the oldest of the order's payment and its exchanges'
charges with money left). The refund and its provider call are recorded in the caller's unit; the
effects worker (shared/effects.py) pays it after the commit with the refund id as
idempotency key, retries failures with backoff, and the outcome is published as
RefundPaid or RefundFailed.
"""

from __future__ import annotations

from typing import Any

from services.payment import metrics
from services.payment import repository as repo
from services.payment.deps import Deps
from services.payment.domain import (
    LedgerEntry,
    Refund,
    approval,
    failure_told,
    pending_refund,
    refund_entry,
    refund_failed,
    refund_paid,
    refused_refund,
)
from services.payment.providers import ProviderError
from shared import effects
from shared.contracts.envelope import Money
from shared.contracts.events.returns import RefundApproved
from shared.effects import Effect, EffectError, Performer, derived_id
from shared.logging import get_logger
from shared.unit import Unit

log = get_logger(__name__)
REFUND_RETRY = "refund_retry"  # timers set before refunds were paid by the effects worker
REFUND = "refund"


async def approve_refund(unit: Unit[Deps], order_id: str, approved: RefundApproved) -> None:
    """Refunds what was approved from the oldest of the order's captures (its payment, then
    any exchange's charge) with money left, capped by what is left of it; once."""
    decided = approval(await repo.refundable_charges(unit.conn, order_id), approved.amount)
    if decided.charge is not None and decided.refused is None:
        await start_refund(
            unit,
            decided.charge,
            decided.amount,
            reason=approved.flow.value,
            refund_request_id=approved.refund_request_id,
            requested=approved.amount.amount,
        )
        return
    assert decided.refused is not None
    await _refuse(unit, order_id, approved.refund_request_id, approved.amount, decided.refused)


async def start_refund(
    unit: Unit[Deps],
    charge: LedgerEntry,
    amount: int,
    *,
    reason: str,
    refund_request_id: str | None = None,
    requested: int | None = None,
) -> Refund | None:
    """Records a refund of `charge` and the provider call that pays it after the commit;
    None when it is recorded already."""
    refund = pending_refund(
        _refund_id(refund_request_id, charge.attempt_id),
        charge,
        amount,
        reason=reason,
        refund_request_id=refund_request_id,
        requested=requested,
    )
    if not await repo.insert_refund(unit.conn, refund, unit.now):
        return None
    await request_payout(unit, refund, charge)
    return refund


async def request_payout(unit: Unit[Deps], refund: Refund, charge: LedgerEntry) -> None:
    """The provider is asked to pay `refund` once this unit commits, keyed by the refund id."""
    payload = {
        "refund_id": refund.refund_id,
        "order_id": refund.order_id,
        "provider": charge.provider,
        "reference": charge.provider_reference,
        "amount": refund.amount,
        "currency": refund.currency,
    }
    await effects.record(unit, REFUND, refund.refund_id, payload)


async def hand_over(unit: Unit[Deps], refund_id: str) -> None:
    """A refund whose retry timer was set before the effects worker paid refunds: its
    provider call is recorded now."""
    refund = await repo.refund_by_id(unit.conn, refund_id)
    if refund is None or refund.status != "pending" or refund.charge_attempt_id is None:
        return
    charge = await repo.charge_of(unit.conn, refund.charge_attempt_id)
    assert charge is not None, "a pending refund always refunds a recorded charge"
    await request_payout(unit, refund, charge)


async def _refuse(
    unit: Unit[Deps], order_id: str, refund_request_id: str, requested: Money, why: str
) -> None:
    """An approval with nothing left to refund: reported once, never paid."""
    refund_id = _refund_id(refund_request_id, None)
    refund = refused_refund(refund_id, order_id, refund_request_id, requested, why)
    if await repo.insert_refund(unit.conn, refund, unit.now):
        await unit.emit(refund_failed(refund, why, will_retry=False), order_id=order_id)


def _refund_id(refund_request_id: str | None, charge_attempt_id: str | None) -> str:
    """Derived from what it refunds, so a rerun of the same approval or charge finds it again."""
    if refund_request_id is not None:
        return derived_id("rfd", "approval", refund_request_id)
    assert charge_attempt_id is not None, "an automatic refund always refunds a charge"
    return derived_id("rfd", "automatic", charge_attempt_id)


async def call_refund(deps: Deps, effect: Effect) -> str:
    """Outside any transaction: the provider pays the refund (idempotent on the key)."""
    p = effect.payload
    money = Money(amount=p["amount"], currency=p["currency"])
    try:
        receipt = await deps.provider(p["provider"]).refund(
            p["reference"], money, idempotency_key=effect.key
        )
    except ProviderError as exc:
        raise EffectError(
            exc.reason, permanent=not exc.transient, retry_after=exc.retry_after
        ) from exc
    return receipt.reference


async def record_refund_paid(unit: Unit[Deps], effect: Effect, provider_reference: str) -> None:
    """The provider paid: the ledger entry, the refund marked paid, RefundPaid."""
    refund = await repo.refund_by_id(unit.conn, effect.payload["refund_id"], lock=True)
    if refund is None or refund.status == "paid":
        return
    entry = refund_entry(refund, effect.payload["provider"], provider_reference, unit.now)
    await repo.add_entry(unit.conn, entry)
    await repo.update_refund(
        unit.conn,
        refund.refund_id,
        status="paid",
        attempts=effect.attempts + 1,
        provider_reference=provider_reference,
        updated_at=unit.now,
    )
    await unit.emit(refund_paid(refund, unit.now), order_id=refund.order_id)
    unit.after_commit(metrics.REFUNDS_PAID.labels(effect.payload["provider"]).inc)
    log.info("refunded", order_id=refund.order_id, refund_id=refund.refund_id)


async def record_refund_not_paid(
    unit: Unit[Deps], effect: Effect, reason: str, will_retry: bool
) -> None:
    refund = await repo.refund_by_id(unit.conn, effect.payload["refund_id"], lock=True)
    if refund is None or refund.status != "pending":
        return
    attempts = effect.attempts + 1
    await repo.update_refund(
        unit.conn,
        refund.refund_id,
        attempts=attempts,
        last_error=reason,
        status="pending" if will_retry else "failed",
        updated_at=unit.now,
    )
    if failure_told(attempts, will_retry):
        await unit.emit(refund_failed(refund, reason, will_retry), order_id=refund.order_id)
    log.warning("refund not paid", order_id=refund.order_id, attempts=attempts, retry=will_retry)


async def _done(unit: Unit[Deps], effect: Effect, result: Any) -> None:
    await record_refund_paid(unit, effect, str(result))


async def _failed(unit: Unit[Deps], effect: Effect, reason: str, will_retry: bool) -> None:
    await record_refund_not_paid(unit, effect, reason, will_retry)


PAYOUT = Performer(call=call_refund, done=_done, failed=_failed)
