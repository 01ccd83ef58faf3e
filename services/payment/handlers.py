"""What the payment service does with each incoming event and each due timer.

`HANDLERS` routes event types to handlers; `TIMERS` routes timer kinds.
"""

from __future__ import annotations

from collections.abc import Mapping

from services.payment import repository as repo
from services.payment.charges import record_charge
from services.payment.domain import Attempt, AttemptStatus, Charge, PaymentState, refundable
from services.payment.refunds import REFUND_RETRY, refuse_refund, request_payout, start_refund
from services.payment.sessions import COURIER, open_attempt
from shared.consumer import Handlers, Incoming
from shared.contracts.events import logistics as lg
from shared.contracts.events import order as od
from shared.contracts.events import returns as rt
from shared.contracts.events.common import PaymentMethod
from shared.contracts.events.logistics import ShipmentDelivered
from shared.contracts.events.order import OrderCancelled, OrderClosed, OrderPlaced
from shared.contracts.events.returns import RefundApproved
from shared.timer_poller import TimerHandler
from shared.timers import Timer
from shared.unit import Unit


async def on_order_placed(unit: Unit, msg: Incoming[OrderPlaced]) -> None:
    """Opens the order's first payment request (nothing upfront for cash on delivery)."""
    placed = msg.payload
    payment = PaymentState(
        order_id=msg.order_id,
        method=placed.payment_method,
        amount=placed.total.amount,
        currency=placed.total.currency,
        payment_due_at=placed.payment_due_at,
        paid_attempt_id=None,
        ended=None,
    )
    if not await repo.insert_payment(unit.conn, payment, unit.now):
        return  # known already (cash collected before this event reached us)
    await open_attempt(unit, payment, placed.payment_method)


async def on_order_closed(unit: Unit, msg: Incoming[OrderClosed]) -> None:
    await _order_ended(unit, msg.order_id, "closed", was_paid=False)


async def on_order_cancelled(unit: Unit, msg: Incoming[OrderCancelled]) -> None:
    await _order_ended(unit, msg.order_id, "cancelled", was_paid=msg.payload.was_paid)


async def _order_ended(unit: Unit, order_id: str, ended: str, *, was_paid: bool) -> None:
    """Expires open requests. A charge the order never counted as paid is refunded as late;
    a payment the order knew of is refunded through returns (RefundApproved)."""
    payment = await repo.get_payment(unit.conn, order_id, lock=True)
    if payment is None or payment.ended:
        return
    await repo.mark_ended(unit.conn, order_id, ended, unit.now)
    await repo.close_live_attempts(unit.conn, order_id, AttemptStatus.EXPIRED, unit.now)
    charge = await repo.payment_charge(unit.conn, order_id)
    if charge is not None and not was_paid:
        await start_refund(unit, charge, charge.amount, reason=Charge.LATE.value)


async def on_shipment_delivered(unit: Unit, msg: Incoming[ShipmentDelivered]) -> None:
    """Cash on delivery: the courier collected the money, so the order counts as paid."""
    cash = msg.payload.cash_collected
    if cash is None or cash.amount == 0:
        return
    payment = PaymentState(
        msg.order_id, PaymentMethod.CASH_ON_DELIVERY, cash.amount, cash.currency, None, None, None
    )
    await repo.insert_payment(unit.conn, payment, unit.now)  # delivered before placed was seen
    payment = await repo.get_payment(unit.conn, msg.order_id, lock=True) or payment
    if payment.paid:
        return
    attempt = await _cash_attempt(unit, payment)
    kind = Charge.LATE if payment.ended else Charge.PAYMENT
    charge = await record_charge(
        unit, attempt, kind, cash, msg.payload.shipment_id, msg.payload.delivered_at
    )
    if kind == Charge.LATE:
        await start_refund(unit, charge, charge.amount, reason=kind.value)


async def _cash_attempt(unit: Unit, payment: PaymentState) -> Attempt:
    for attempt in await repo.attempts_of(unit.conn, payment.order_id):
        if attempt.provider == COURIER and attempt.status == AttemptStatus.OPEN:
            return attempt
    return await open_attempt(unit, payment, PaymentMethod.CASH_ON_DELIVERY)


async def on_refund_approved(unit: Unit, msg: Incoming[RefundApproved]) -> None:
    """Refunds what was approved, capped by what is left of the order's payment; once."""
    approved = msg.payload
    if await repo.get_payment(unit.conn, msg.order_id, lock=True) is None:
        raise LookupError("a refund was approved for an order payment never saw placed")
    charge = await repo.payment_charge(unit.conn, msg.order_id)
    if charge is None:
        why = "nothing_captured"
    elif charge.currency != approved.amount.currency:
        why = "currency_mismatch"
    else:
        refunding = await repo.refunding(unit.conn, charge.attempt_id)
        left = refundable(approved.amount.amount, charge.amount, refunding)
        if left > 0:
            await start_refund(
                unit,
                charge,
                left,
                reason=approved.flow.value,
                refund_request_id=approved.refund_request_id,
                requested=approved.amount.amount,
            )
            return
        why = "nothing_left_to_refund"
    await refuse_refund(unit, msg.order_id, approved.refund_request_id, approved.amount, why)


async def on_refund_retry(unit: Unit, timer: Timer) -> None:
    """A retry timer set before refunds were paid by the effects worker: hands it over."""
    refund = await repo.refund_by_id(unit.conn, timer.payload["refund_id"])
    if refund is None or refund.status != "pending" or refund.charge_attempt_id is None:
        return
    charge = await repo.charge_of(unit.conn, refund.charge_attempt_id)
    assert charge is not None, "a pending refund always refunds a recorded charge"
    await request_payout(unit, refund, charge)


HANDLERS: Handlers = {
    od.OrderPlaced: on_order_placed,
    od.OrderClosed: on_order_closed,
    od.OrderCancelled: on_order_cancelled,
    lg.ShipmentDelivered: on_shipment_delivered,
    rt.RefundApproved: on_refund_approved,
}

TIMERS: Mapping[str, TimerHandler] = {REFUND_RETRY: on_refund_retry}
