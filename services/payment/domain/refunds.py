"""Refunds: how much an approval pays, the refund records and what is told about them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from services.payment.domain.records import LedgerEntry, Refund, new_id
from shared.contracts.envelope import Money
from shared.contracts.events.payment import RefundFailed, RefundPaid


@dataclass(frozen=True)
class Approval:
    """What an approved refund pays (`amount`, from `charge`), or why it pays nothing
    (`refused`)."""

    amount: int = 0
    refused: str | None = None
    charge: LedgerEntry | None = None


def refundable(requested: int, charged: int, already_refunding: int) -> int:
    """What an approved refund may pay: never more than is left of the charge."""
    return max(0, min(requested, charged - already_refunding))


def approval(charges: list[tuple[LedgerEntry, int]], requested: Money) -> Approval:
    """An approval refunds one of the order's captures (its payment, an exchange's charge),
    each given with what is refunded or being refunded from it: the oldest with money left
    in the requested currency, up to what is left of it."""
    if not charges:
        return Approval(refused="nothing_captured")
    same = [(c, refunding) for c, refunding in charges if c.currency == requested.currency]
    if not same:
        return Approval(refused="currency_mismatch")
    for charge, refunding in same:
        left = refundable(requested.amount, charge.amount, refunding)
        if left > 0:
            return Approval(amount=left, charge=charge)
    return Approval(refused="nothing_left_to_refund")


def refund_backoff(attempts: int, base_seconds: float, max_seconds: float) -> timedelta:
    return timedelta(seconds=min(max_seconds, base_seconds * 2 ** max(0, attempts - 1)))


def pending_refund(
    refund_id: str,
    charge: LedgerEntry,
    amount: int,
    *,
    reason: str,
    refund_request_id: str | None,
    requested: int | None,
) -> Refund:
    """A refund of `charge`, to be paid by the provider that took it."""
    return Refund(
        refund_id=refund_id,
        order_id=charge.order_id,
        refund_request_id=refund_request_id,
        charge_attempt_id=charge.attempt_id,
        reason=reason,
        requested_amount=amount if requested is None else requested,
        amount=amount,
        currency=charge.currency,
        status="pending",
        attempts=0,
        last_error=None,
    )


def refused_refund(
    refund_id: str, order_id: str, refund_request_id: str, requested: Money, why: str
) -> Refund:
    """An approval with nothing to refund: recorded as failed (and reported), never paid."""
    return Refund(
        refund_id=refund_id,
        order_id=order_id,
        refund_request_id=refund_request_id,
        charge_attempt_id=None,
        reason=why,
        requested_amount=requested.amount,
        amount=0,
        currency=requested.currency,
        status="failed",
        attempts=0,
        last_error=why,
    )


def refund_entry(refund: Refund, provider: str, reference: str, now: datetime) -> LedgerEntry:
    """The ledger's record of a refund the provider paid."""
    assert refund.charge_attempt_id is not None, "a paid refund always refunds a recorded charge"
    return LedgerEntry(
        entry_id=new_id("led"),
        order_id=refund.order_id,
        kind="refund",
        purpose=refund.reason,
        amount=refund.amount,
        currency=refund.currency,
        attempt_id=refund.charge_attempt_id,
        refund_id=refund.refund_id,
        provider=provider,
        provider_reference=reference,
        recorded_at=now,
    )


def refund_paid(refund: Refund, now: datetime) -> RefundPaid:
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


def refund_failed(refund: Refund, reason: str, will_retry: bool) -> RefundFailed:
    """What is told of a refund not paid: what it was to pay, or, for an approval refused
    with no charge to refund from, what was asked."""
    amount = refund.amount if refund.charge_attempt_id else refund.requested_amount
    return RefundFailed(
        refund_id=refund.refund_id,
        refund_request_id=refund.refund_request_id,
        amount=Money(amount=amount, currency=refund.currency),
        reason=reason,
        will_retry=will_retry,
    )


def failure_told(attempts: int, will_retry: bool) -> bool:
    """A failing refund is told once when it starts failing, and once when it is given up."""
    return attempts == 1 or not will_retry
