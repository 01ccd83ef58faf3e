"""How an exchange moves on, one function per command or fact. Pure.

Each returns an `ExchangeOutcome`: the exchange as it is afterwards, the audit steps, the
events to emit, the pay-by timer to set or cancel, and the refund it opens (through the
refund machinery, by services.returns.exchange_steps). A fact that does not apply to the
exchange as it is (a duplicate, a late answer after a cancel) changes nothing; a command
the rules refuse raises `Refused`.

    requested ──ExchangeReserved──▶ accepted ──(paid, units back or at once)──▶ released
        │                              │                                          │
        └─ExchangeUnavailable─▶ refused └──pay-by deadline, unpaid──▶ cancelled    ▼
                                                                  ExchangeShipped: shipped
                                                                                  │
                                                              ExchangeDelivered: delivered
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from services.returns.domain.exchanges import (
    Exchange,
    ExchangeDecision,
    ExchangeStatus,
    difference,
    may_release,
    settlement,
    ships,
)
from services.returns.domain.records import Audit, Policy, conflict
from shared.contracts.envelope import Event, Money
from shared.contracts.events.logistics import (
    ExchangeDelivered,
    ExchangeReserved,
    ExchangeShipped,
    ExchangeUnavailable,
)
from shared.contracts.events.payment import ExchangePaymentSucceeded
from shared.contracts.events.returns import (
    Actor,
    ExchangeAccepted,
    ExchangeCancelled,
    ExchangeRefused,
    ExchangeReleased,
    ExchangeRequested,
    ExchangeReturnReceived,
    ExchangeReturnShipped,
)

PAY_TIMER = "exchange_pay_by"
RETURN_TIMER = "exchange_return_by"
Refund = Literal["difference", "returned_units"]
_AFTER_ACCEPTANCE = (
    ExchangeStatus.ACCEPTED,
    ExchangeStatus.RELEASED,
    ExchangeStatus.SHIPPED,
    ExchangeStatus.DELIVERED,
)


@dataclass
class ExchangeOutcome:
    exchange: Exchange
    audits: list[Audit] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    timers: dict[str, datetime | None] = field(default_factory=dict)  # by kind; None cancels
    refund: Refund | None = None  # the refund the exchange opens now
    captured: int = 0  # a payment for the exchange, added to what the order was paid

    def then(self, later: ExchangeOutcome) -> ExchangeOutcome:
        return ExchangeOutcome(
            later.exchange,
            self.audits + later.audits,
            self.events + later.events,
            {**self.timers, **later.timers},
            later.refund or self.refund,
            self.captured + later.captured,
        )


def new_exchange(
    exchange_id: str, order_id: str, decision: ExchangeDecision, *, actor: Actor, at: datetime
) -> Exchange:
    """An exchange as it is first recorded, before `requested` publishes it."""
    line = decision.line
    return Exchange(
        id=exchange_id,
        order_id=order_id,
        reason=decision.reason,
        status=ExchangeStatus.REQUESTED,
        line_id=line.line_id,
        sku=line.sku,
        quantity=line.quantity,
        returned_value=decision.returned_value,
        currency=decision.currency,
        replacement_sku=decision.replacement_sku,
        return_shipping_paid_by=decision.return_shipping_paid_by,
        price_difference_deducted=decision.price_difference_deducted,
        requested_by=actor,
        created_at=at,
        updated_at=at,
    )


def requested(exchange: Exchange, at: datetime, *, actor: Actor) -> ExchangeOutcome:
    details = {
        "line": exchange.line.model_dump(),
        "replacement_sku": exchange.replacement_sku,
        "reason": exchange.reason,
        "returned_value": exchange.returned_value,
    }
    event = ExchangeRequested(
        exchange_id=exchange.id,
        reason=exchange.reason,
        line=exchange.line,
        replacement_sku=exchange.replacement_sku,
        actor=actor,
    )
    return ExchangeOutcome(exchange, [Audit(actor, "requested", at, details)], [event])


# -- facts (events and the pay-by timer) ---------------------------------------------------


def reserved(
    exchange: Exchange, at: datetime, *, event: ExchangeReserved, policy: Policy
) -> ExchangeOutcome:
    """The replacement is held: the exchange is accepted at its price. A reservation for an
    exchange already decided (a duplicate, or one after a cancel) changes nothing."""
    if exchange.status != ExchangeStatus.REQUESTED:
        return ExchangeOutcome(exchange)
    item = event.replacement
    if item.unit_price.currency != exchange.currency:
        message = f"the replacement is priced in {item.unit_price.currency}"
        return _cancelled(exchange, at, "currency_mismatch", message)
    diff = difference(exchange, item)
    settles, leaves = settlement(diff), ships(exchange.reason, policy)
    pay_by = at + policy.exchange_pay if settles == "charge" else None
    return_by = at + policy.exchange_return
    after = replace(
        exchange,
        status=ExchangeStatus.ACCEPTED,
        replacement=item,
        warehouse=event.warehouse,
        difference=diff,
        settlement=settles,
        ships=leaves,
        pay_by=pay_by,
        updated_at=at,
    )
    accepted = ExchangeAccepted(
        exchange_id=exchange.id,
        reason=exchange.reason,
        line=exchange.line,
        replacement=item,
        difference=Money(amount=abs(diff), currency=exchange.currency),
        settlement=settles,
        ships=leaves,
        return_shipping_paid_by=_payer(exchange),
        pay_by=pay_by,
        return_by=return_by,
    )
    details: dict[str, Any] = {
        "replacement": item.model_dump(mode="json"),
        "warehouse": event.warehouse,
        "difference": diff,
        "settlement": settles,
        "ships": leaves,
        "pay_by": pay_by.isoformat() if pay_by else None,
        "return_by": return_by.isoformat(),
    }
    timers: dict[str, datetime | None] = {RETURN_TIMER: return_by}
    if pay_by:
        timers[PAY_TIMER] = pay_by
    outcome = ExchangeOutcome(after, [Audit("system", "accepted", at, details)], [accepted], timers)
    return outcome.then(_release(after, at))


def unavailable(exchange: Exchange, at: datetime, *, event: ExchangeUnavailable) -> ExchangeOutcome:
    """The replacement cannot be held: the exchange is refused; the customer may ask for a
    refund instead."""
    if exchange.status != ExchangeStatus.REQUESTED:
        return ExchangeOutcome(exchange)
    after = replace(
        exchange,
        status=ExchangeStatus.REFUSED,
        outcome_reason=event.reason,
        outcome_message=event.message,
        updated_at=at,
    )
    details = {"reason": event.reason, "message": event.message}
    refused = ExchangeRefused(exchange_id=exchange.id, reason=event.reason, message=event.message)
    return ExchangeOutcome(after, [Audit("system", "refused", at, details)], [refused])


def payment_succeeded(
    exchange: Exchange, at: datetime, *, event: ExchangePaymentSucceeded
) -> ExchangeOutcome:
    """The difference is paid (once): the replacement may leave when nothing else waits.
    A capture after the exchange was cancelled is payment's to refund (late payment), and
    never counts as paid here."""
    if exchange.paid_at is not None or exchange.status != ExchangeStatus.ACCEPTED:
        why = "already paid" if exchange.paid_at else f"exchange {exchange.status}"
        details = {"attempt_id": event.attempt_id, "amount": event.amount.amount, "why": why}
        return ExchangeOutcome(exchange, [Audit("system", "payment_ignored", at, details)])
    after = replace(exchange, paid_at=event.paid_at, paid_amount=event.amount.amount, updated_at=at)
    details = {
        "attempt_id": event.attempt_id,
        "amount": event.amount.amount,
        "provider": event.provider,
    }
    captured = event.amount.amount if event.amount.currency == exchange.currency else 0
    paid = ExchangeOutcome(
        after, [Audit("system", "paid", at, details)], timers={PAY_TIMER: None}, captured=captured
    )
    return paid.then(_release(after, at))


def pay_due(exchange: Exchange, at: datetime) -> ExchangeOutcome:
    """The pay-by deadline: an exchange still unpaid is cancelled (logistics releases the
    replacement, payment closes the charge). Units already received for it are refunded."""
    unpaid = exchange.settlement == "charge" and exchange.paid_at is None
    if exchange.status != ExchangeStatus.ACCEPTED or not unpaid:
        return ExchangeOutcome(exchange)
    outcome = _cancelled(exchange, at, "unpaid", "the difference was not paid in time")
    if exchange.return_received_at is not None:
        outcome.refund = "returned_units"
    return outcome


def return_due(exchange: Exchange, at: datetime) -> ExchangeOutcome:
    """The return deadline: an accepted exchange whose units were neither reported on
    their way nor received is cancelled, and its replacement released to others (a
    difference already paid is refunded by payment). One already released, shipped or
    ended changes nothing."""
    sent = exchange.return_shipped_at is not None or exchange.return_received_at is not None
    if exchange.status != ExchangeStatus.ACCEPTED or sent:
        return ExchangeOutcome(exchange)
    return _cancelled(exchange, at, "not_returned", "the units were not sent back in time")


def shipped(exchange: Exchange, at: datetime, *, event: ExchangeShipped) -> ExchangeOutcome:
    """The courier took the replacement: nothing is left to decide of the exchange."""
    if exchange.status != ExchangeStatus.RELEASED:
        return ExchangeOutcome(exchange)
    shipment = {
        "shipment_id": event.shipment_id,
        "courier": event.courier,
        "tracking_number": event.tracking_number,
        "shipped_at": event.shipped_at.isoformat(),
    }
    after = replace(exchange, status=ExchangeStatus.SHIPPED, shipment=shipment, updated_at=at)
    return ExchangeOutcome(after, [Audit("system", "shipped", at, shipment)])


def delivered(exchange: Exchange, at: datetime, *, event: ExchangeDelivered) -> ExchangeOutcome:
    """The replacement reached the customer: the exchange ends, delivered (once). One not
    shipped yet, or delivered already, changes nothing. Units still due back stay due."""
    if exchange.status != ExchangeStatus.SHIPPED:
        return ExchangeOutcome(exchange)
    after = replace(
        exchange, status=ExchangeStatus.DELIVERED, delivered_at=event.delivered_at, updated_at=at
    )
    details = {"shipment_id": event.shipment_id, "delivered_at": event.delivered_at.isoformat()}
    return ExchangeOutcome(after, [Audit("system", "delivered", at, details)])


# -- commands (HTTP) ---------------------------------------------------------------------


def report_return(
    exchange: Exchange, at: datetime, *, actor: Actor, courier: str, tracking_number: str
) -> ExchangeOutcome:
    """The customer sent the units back under `tracking_number`; the same report again
    changes nothing."""
    parcel = (exchange.return_courier, exchange.return_tracking_number)
    if exchange.return_shipped_at is not None and parcel == (courier, tracking_number):
        return ExchangeOutcome(exchange)
    _require_after_acceptance(exchange, "report a return parcel for")
    if exchange.return_shipped_at is not None or exchange.return_received_at is not None:
        state = "return_received" if exchange.return_received_at else "return_shipped"
        raise conflict("wrong_state", "the return parcel was reported already", state)
    after = replace(
        exchange,
        return_courier=courier,
        return_tracking_number=tracking_number,
        return_shipped_at=at,
        updated_at=at,
    )
    details = {"courier": courier, "tracking_number": tracking_number}
    event = ExchangeReturnShipped(
        exchange_id=exchange.id, courier=courier, tracking_number=tracking_number
    )
    audits = [Audit(actor, "return_shipped", at, details)]
    return ExchangeOutcome(after, audits, [event], {RETURN_TIMER: None})


def receive_return(
    exchange: Exchange, at: datetime, *, actor: Actor, by: str | None = None
) -> ExchangeOutcome:
    """Operations record the units back (`by`: the person, in the audit trail): the
    replacement may leave, and a cheaper one's difference is refunded."""
    _require_after_acceptance(exchange, "receive the return of")
    if exchange.return_received_at is not None:
        raise conflict("wrong_state", "the return was received already", "return_received")
    after = replace(exchange, return_received_at=at, updated_at=at)
    details = {"tracking_number": exchange.return_tracking_number}
    if by:
        details["by"] = by
    event = ExchangeReturnReceived(
        exchange_id=exchange.id, lines=(exchange.line,), received_at=at, actor=actor
    )
    audits = [Audit(actor, "return_received", at, details)]
    received = ExchangeOutcome(after, audits, [event], {RETURN_TIMER: None})
    if exchange.settlement == "refund":
        received.refund = "difference"
    return received.then(_release(after, at))


# -- rules -------------------------------------------------------------------------------


def _release(exchange: Exchange, at: datetime) -> ExchangeOutcome:
    """Releases the replacement when nothing waits any more (once: it leaves `accepted`)."""
    if not may_release(exchange):
        return ExchangeOutcome(exchange)
    assert exchange.replacement is not None
    after = replace(exchange, status=ExchangeStatus.RELEASED, released_at=at, updated_at=at)
    event = ExchangeReleased(exchange_id=exchange.id, replacement=exchange.replacement)
    details = {"ships": exchange.ships, "paid": exchange.paid_at is not None}
    return ExchangeOutcome(after, [Audit("system", "released", at, details)], [event])


def _cancelled(exchange: Exchange, at: datetime, reason: str, message: str) -> ExchangeOutcome:
    after = replace(
        exchange,
        status=ExchangeStatus.CANCELLED,
        outcome_reason=reason,
        outcome_message=message,
        updated_at=at,
    )
    event = ExchangeCancelled(exchange_id=exchange.id, reason=reason)
    audit = Audit("system", "cancelled", at, {"reason": reason})
    return ExchangeOutcome(after, [audit], [event], {PAY_TIMER: None, RETURN_TIMER: None})


def _require_after_acceptance(exchange: Exchange, action: str) -> None:
    if exchange.status not in _AFTER_ACCEPTANCE:
        message = f"cannot {action} an exchange that is {exchange.status}"
        if exchange.status == ExchangeStatus.REQUESTED:
            message += " (the replacement is not reserved yet)"
        raise conflict("wrong_state", message, exchange.status)


def _payer(exchange: Exchange) -> Literal["customer", "shop"]:
    return "shop" if exchange.return_shipping_paid_by == "shop" else "customer"
