"""Refunds: approved by returns, or automatic for a late or duplicate charge.

Each refunds one charge through the provider that took it, never beyond what
is left of that charge. The refund and its provider call are recorded in the
caller's transaction; the effects worker (shared/effects.py) pays it after the
commit with the refund id as idempotency key, retries failures with backoff, and
the outcome is published as RefundPaid or RefundFailed.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from services.payment import repository as repo
from services.payment.deps import PaymentDeps, new_id
from services.payment.domain import LedgerEntry, Refund
from services.payment.providers import ProviderError
from shared import effects
from shared.contracts.envelope import Money
from shared.contracts.events.payment import RefundFailed, RefundPaid
from shared.effects import Effect, EffectError, Performer, derived_id
from shared.logging import get_logger
from shared.unit import Unit

log = get_logger(__name__)
REFUND_RETRY = "refund_retry"  # timers set before refunds were paid by the effects worker
REFUND = "refund"


async def start_refund(
    unit: Unit,
    charge: LedgerEntry,
    amount: int,
    *,
    reason: str,
    refund_request_id: str | None = None,
    requested: int | None = None,
) -> Refund | None:
    """Records a refund of `charge` and the provider call that pays it after the commit;
    None when it is recorded already."""
    refund = _refund(charge.order_id, charge, amount, reason, refund_request_id, requested)
    if not await repo.insert_refund(unit.conn, refund, unit.now):
        return None
    await request_payout(unit, refund, charge)
    return refund


async def request_payout(unit: Unit, refund: Refund, charge: LedgerEntry) -> None:
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
    # derived from what it refunds, so a rerun of the same approval or charge finds it again
    if refund_request_id is not None:
        refund_id = derived_id("rfd", "approval", refund_request_id)
    else:
        assert charge is not None, "an automatic refund always refunds a charge"
        refund_id = derived_id("rfd", "automatic", charge.attempt_id)
    return Refund(
        refund_id=refund_id,
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


async def call_refund(deps: PaymentDeps, effect: Effect) -> str:
    """Outside any transaction: the provider pays the refund (idempotent on the key)."""
    p = effect.payload
    money = Money(amount=p["amount"], currency=p["currency"])
    try:
        receipt = await deps.provider(p["provider"]).refund(
            p["reference"], money, idempotency_key=effect.key
        )
    except ProviderError as exc:
        raise EffectError(exc.reason, permanent=not exc.transient) from exc
    return receipt.reference


async def record_refund_paid(unit: Unit, effect: Effect, provider_reference: str) -> None:
    """The provider paid: the ledger entry, the refund marked paid, RefundPaid."""
    refund = await repo.refund_by_id(unit.conn, effect.payload["refund_id"])
    if refund is None or refund.status == "paid":
        return
    charge_attempt_id = refund.charge_attempt_id
    assert charge_attempt_id is not None, "a paid refund always refunds a recorded charge"
    await repo.add_entry(
        unit.conn,
        LedgerEntry(
            entry_id=new_id("led"),
            order_id=refund.order_id,
            kind="refund",
            purpose=refund.reason,
            amount=refund.amount,
            currency=refund.currency,
            attempt_id=charge_attempt_id,
            refund_id=refund.refund_id,
            provider=effect.payload["provider"],
            provider_reference=provider_reference,
            recorded_at=unit.now,
        ),
    )
    await repo.update_refund(
        unit.conn,
        refund.refund_id,
        status="paid",
        attempts=effect.attempts + 1,
        provider_reference=provider_reference,
        updated_at=unit.now,
    )
    await unit.emit(_refund_paid(refund, unit.now), order_id=refund.order_id)


async def record_refund_not_paid(unit: Unit, effect: Effect, reason: str, will_retry: bool) -> None:
    refund = await repo.refund_by_id(unit.conn, effect.payload["refund_id"])
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
    if attempts == 1 or not will_retry:  # told once when it starts failing, once on giving up
        await unit.emit(_refund_failed(refund, reason, will_retry), order_id=refund.order_id)
    log.warning("refund not paid", order_id=refund.order_id, attempts=attempts, retry=will_retry)


async def _done(unit: Unit, effect: Effect, result: Any) -> None:
    await record_refund_paid(unit, effect, str(result))


async def _failed(unit: Unit, effect: Effect, reason: str, will_retry: bool) -> None:
    await record_refund_not_paid(unit, effect, reason, will_retry)


PAYOUT = Performer(call=call_refund, done=_done, failed=_failed)


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
