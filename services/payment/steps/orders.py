"""An order's payment as the order goes: placed, paid in cash on delivery, ended, viewed."""

from __future__ import annotations

from services.payment import metrics
from services.payment import repository as repo
from services.payment.deps import Deps
from services.payment.domain import (
    COURIER,
    Attempt,
    AttemptStatus,
    Charge,
    Overview,
    PaymentState,
    cash_mismatch,
    settle_cash,
)
from services.payment.steps.charges import record
from services.payment.steps.refunds import start_refund
from services.payment.steps.sessions import open_attempt
from shared.contracts.envelope import Money
from shared.contracts.events.common import PaymentMethod
from shared.contracts.events.logistics import ShipmentDelivered
from shared.contracts.events.order import OrderPlaced
from shared.logging import get_logger
from shared.unit import Unit

log = get_logger(__name__)


async def order_placed(unit: Unit[Deps], order_id: str, placed: OrderPlaced) -> None:
    """Records what the order owes and opens its first payment request (nothing upfront
    for cash on delivery)."""
    payment = PaymentState(
        order_id=order_id,
        method=placed.payment_method,
        amount=placed.total.amount,
        currency=placed.total.currency,
        payment_due_at=placed.payment_due_at,
        paid_attempt_id=None,
        ended=None,
    )
    if await repo.insert_payment(unit.conn, payment, unit.now):
        await open_attempt(unit, payment, placed.payment_method, first=True)
        unit.after_commit(metrics.PAYMENTS_REQUESTED.labels(placed.payment_method.value).inc)


async def cash_due_lowered(unit: Unit[Deps], payment: PaymentState, due: Money) -> None:
    """Cash on delivery: the courier now collects `due`, a courier's surcharge not owed taken
    off (CourierSubstituted), so a collection of it is exact, not a mismatch. Only lowers
    an unpaid, open payment in the same currency."""
    unpaid = not payment.paid and not payment.ended
    cash = payment.method is PaymentMethod.CASH_ON_DELIVERY
    if unpaid and cash and due.currency == payment.currency and due.amount < payment.amount:
        await repo.set_amount(unit.conn, payment.order_id, due.amount, unit.now)
        log.info("cash due lowered", due=f"{due.amount} {due.currency}")


async def order_ended(
    unit: Unit[Deps], payment: PaymentState, ended: str, *, was_paid: bool
) -> None:
    """Expires open requests. A charge the order never counted as paid is refunded as late;
    a payment the order knew of is refunded through returns (RefundApproved)."""
    if payment.ended:
        return
    await repo.mark_ended(unit.conn, payment.order_id, ended, unit.now)
    if ended == "closed" and not payment.paid:  # the payment window passed unpaid
        unit.after_commit(metrics.PAYMENTS.labels(payment.method.value, "expired").inc)
    await repo.close_live_attempts(unit.conn, payment.order_id, AttemptStatus.EXPIRED, unit.now)
    charge = await repo.payment_charge(unit.conn, payment.order_id)
    if charge is not None and not was_paid:
        await start_refund(unit, charge, charge.amount, reason=Charge.LATE.value)


async def cash_collected(
    unit: Unit[Deps], payment: PaymentState, delivered: ShipmentDelivered
) -> None:
    """Cash on delivery: the courier collected the money, so the order counts as paid (or,
    once it ended, the cash is refunded as late). The ledger records what was collected;
    a collection that differs from what is due is flagged for operations, once
    (CashCollectionMismatch). A report of nothing collected pays nothing: only flagged."""
    cash = delivered.cash_collected
    if cash is None or payment.paid or (cash.amount == 0 and payment.ended):
        return
    attempt = await _cash_attempt(unit, payment)
    shipment, at = delivered.shipment_id, delivered.delivered_at
    if cash.amount > 0:
        settled = settle_cash(payment, attempt, cash, shipment, at, unit.now)
        await record(unit, attempt, settled)
        if not settled.pays:  # the order had ended (refused, cancelled): refunded as late
            log.warning(
                "cash collected for an order that ended",
                order_id=payment.order_id,
                shipment_id=shipment,
                ended=payment.ended,
            )
            return
    mismatch = cash_mismatch(payment, attempt, cash, shipment, at, unit.now)
    if mismatch is not None and await repo.add_cash_mismatch(unit.conn, mismatch):
        await unit.emit(mismatch.event(), order_id=payment.order_id)
        log.warning(
            "courier collected another amount than due",
            order_id=payment.order_id,
            shipment_id=shipment,
            kind=mismatch.kind,
            due=f"{payment.amount} {payment.currency}",
            collected=f"{cash.amount} {cash.currency}",
        )


async def _cash_attempt(unit: Unit[Deps], payment: PaymentState) -> Attempt:
    """The courier's open request; for an order that ended, its last one (the cash is
    refunded as late: the customer is not asked to pay again)."""
    couriers = [
        a for a in await repo.attempts_of(unit.conn, payment.order_id) if a.provider == COURIER
    ]
    for attempt in couriers:
        if attempt.status == AttemptStatus.OPEN:
            return attempt
    if payment.ended and couriers:
        return couriers[-1]
    return await open_attempt(unit, payment, PaymentMethod.CASH_ON_DELIVERY)


async def overview(unit: Unit[Deps], order_id: str) -> Overview | None:
    """Everything payment knows of the order's money; None for an order it does not know."""
    payment = await repo.get_payment(unit.conn, order_id)
    if payment is None:
        return None
    return Overview(
        payment=payment,
        attempts=await repo.attempts_of(unit.conn, order_id),
        entries=await repo.entries_of(unit.conn, order_id),
        refunds=await repo.refunds_of(unit.conn, order_id),
        totals=await repo.totals(unit.conn, order_id),
        exchanges=await repo.exchange_charges_of(unit.conn, order_id),
    )
