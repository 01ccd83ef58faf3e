"""The operations that run inside a unit of work: load (repository), decide (domain), save
once and emit. Handlers, the rule's timer and the HTTP views call them; each runs in the
caller's unit, so state, audit trail, events and timers commit together.

Order facts are upserted in whatever order they arrive (topics are not ordered with each
other); the handlers call these steps only for orders returns knows (shared.held).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

from services.returns import metrics
from services.returns import repository as repo
from services.returns.deps import Deps
from services.returns.domain import transitions
from services.returns.domain.eligibility import (
    Ask,
    Decision,
    backorder_refund,
    cancellation_refund,
    courier_fee_refund,
    decide,
    returned_parcel_refund,
)
from services.returns.domain.records import RefundRequest
from services.returns.domain.transitions import Outcome
from shared.contracts.envelope import Event, Money
from shared.contracts.events.common import LineQuantity
from shared.contracts.events.logistics import (
    ShipmentAlreadyDispatched,
    ShipmentDelivered,
    ShipmentStopped,
)
from shared.contracts.events.payment import RefundFailed, RefundPaid
from shared.contracts.events.returns import Actor
from shared.logging import get_logger
from shared.timers import Timer
from shared.unit import Unit

log = get_logger(__name__)
AUTO_KEY = "auto:cancellation"
COURIER_FEE_KEY = "auto:courier_fee"  # one surcharge refund per order
RETURNED_PARCEL_KEY = "auto:returned_to_shop"  # one refund of a refused, paid parcel
BACKORDER_KEY = "auto:backorder"  # one refund of the units a backorder dropped
Move = Callable[[RefundRequest, datetime], Outcome]
"""A transition of one request, decided at the unit's time (see domain.transitions)."""


# -- what returns knows of an order ------------------------------------------------------


async def record_facts(unit: Unit[Deps], order_id: str, **facts: Any) -> None:
    await repo.record_order_facts(unit.conn, order_id, **facts)


async def order_cancelled(
    unit: Unit[Deps],
    order_id: str,
    *,
    ended: str,
    refund_reason: str | None,
    paid: Money | None = None,
) -> None:
    """The order ends; a paid one is refunded for `refund_reason` (None: no refund)."""
    facts = {"currency": paid.currency, "paid_amount": paid.amount} if paid else {}
    await repo.record_order_facts(unit.conn, order_id, ended=ended, **facts)
    if refund_reason is not None:
        await refund_cancelled_order(unit, order_id, refund_reason)


async def shipment_delivered(unit: Unit[Deps], order_id: str, delivery: ShipmentDelivered) -> None:
    """The order's parcel arrived, or a return parcel came back to the shop."""
    returned = await repo.find_return(unit.conn, order_id, delivery.tracking_number)
    if returned is not None:
        await _record(unit, returned, transitions.parcel_returned(returned, unit.now))
        return
    cash = delivery.cash_collected.amount if delivery.cash_collected else None
    await repo.record_order_facts(
        unit.conn, order_id, delivered_at=delivery.delivered_at, paid_amount=cash
    )


# -- opening a request -------------------------------------------------------------------


async def request_refund(
    unit: Unit[Deps],
    order_id: str,
    ask: Ask,
    *,
    actor: Actor,
    idempotency_key: str | None,
    evidence_urls: list[str],
) -> tuple[RefundRequest, bool]:
    """A customer's or operations' request (True) or the one this key already made (False).
    The order is locked while the request is decided, so requests on it never overlap."""
    order = await repo.load_order(unit.conn, order_id, lock=True)
    if idempotency_key and (same := await repo.find_by_key(unit.conn, order_id, idempotency_key)):
        return same, False
    held = await repo.holdings(unit.conn, order_id)
    prices = None
    if order is not None and ask.reason == "price_dropped":
        prices = await repo.current_prices(unit.conn, {ln.sku for ln in order.lines.values()})
    decision = decide(order, ask, held, unit.deps.policy, unit.now, prices)
    created = await open_request(
        unit,
        order_id,
        decision,
        actor=actor,
        idempotency_key=idempotency_key,
        evidence_urls=evidence_urls,
    )
    return created, True


async def refund_cancelled_order(unit: Unit[Deps], order_id: str, reason: str) -> None:
    """Flow 1 for a paid order cancelled before shipping: one request per order, approved."""
    order = await repo.load_order(unit.conn, order_id, lock=True)
    if order is None or order.paid <= 0:
        await repo.record_order_facts(unit.conn, order_id, auto_refund_reason=reason)
        log.debug("cancelled order's payment not seen yet; refund waits for it")
        return
    if await repo.find_by_key(unit.conn, order_id, AUTO_KEY) is not None:
        return
    decision = cancellation_refund(order, await repo.holdings(unit.conn, order_id), reason)
    if decision is None:
        log.debug("cancelled order has nothing left to refund")
        return
    await open_request(unit, order_id, decision, actor="system", idempotency_key=AUTO_KEY)


async def refund_courier_fee(unit: Unit[Deps], order_id: str, fee: Money) -> bool:
    """The surcharge of a courier chosen at checkout and not honoured comes back, once per
    order, approved at once. False while the payment it refunds is not known yet."""
    order = await repo.load_order(unit.conn, order_id, lock=True)
    if order is None or order.paid <= 0:
        return False
    if await repo.find_by_key(unit.conn, order_id, COURIER_FEE_KEY) is not None:
        return True
    decision = courier_fee_refund(order, await repo.holdings(unit.conn, order_id), fee)
    if decision is None:
        log.info("courier surcharge not refundable: nothing left of the payment")
        return True
    await open_request(unit, order_id, decision, actor="system", idempotency_key=COURIER_FEE_KEY)
    return True


async def refund_returned_parcel(unit: Unit[Deps], order_id: str) -> None:
    """A paid order's parcel was refused (or undeliverable) and is back with the shop: its
    goods are refunded, once per order, approved at once."""
    order = await repo.load_order(unit.conn, order_id, lock=True)
    if order is None or await repo.find_by_key(unit.conn, order_id, RETURNED_PARCEL_KEY):
        return
    decision = returned_parcel_refund(order, await repo.holdings(unit.conn, order_id))
    if decision is None:
        log.debug("parcel back with the shop: nothing to refund", ended=order.ended)
        return
    await open_request(
        unit, order_id, decision, actor="system", idempotency_key=RETURNED_PARCEL_KEY
    )


async def refund_backorder(
    unit: Unit[Deps], order_id: str, dropped: tuple[LineQuantity, ...]
) -> bool:
    """The units a backorder dropped come back, once per order, approved at once. False
    while the payment it refunds is not known yet."""
    order = await repo.load_order(unit.conn, order_id, lock=True)
    if order is None or (order.paid <= 0 and not order.ended):
        return False
    if await repo.find_by_key(unit.conn, order_id, BACKORDER_KEY) is not None:
        return True
    decision = backorder_refund(order, await repo.holdings(unit.conn, order_id), dropped)
    if decision is None:
        log.info("dropped backorder units not refundable", ended=order.ended)
        return True
    await open_request(unit, order_id, decision, actor="system", idempotency_key=BACKORDER_KEY)
    return True


async def open_request(
    unit: Unit[Deps],
    order_id: str,
    decision: Decision,
    *,
    actor: Actor,
    idempotency_key: str | None,
    evidence_urls: list[str] | None = None,
) -> RefundRequest:
    """Records a new request, then what follows from it (domain.transitions.opened)."""
    request = transitions.new_request(
        f"rr_{uuid.uuid4().hex}",
        order_id,
        decision,
        requested_by=actor,
        evidence_urls=evidence_urls or [],
        at=unit.now,
    )
    inserted = await repo.insert_request(
        unit.conn,
        request,
        idempotency_key,
        price_difference=decision.price_difference,
        deducted=decision.deducted,
    )
    if not inserted:
        assert idempotency_key is not None  # only a key can make the same request again
        same = await repo.find_by_key(unit.conn, order_id, idempotency_key)
        assert same is not None
        return same
    outcome = transitions.opened(request, unit.now, decision=decision, actor=actor)
    await _record(unit, request, outcome)
    unit.after_commit(metrics.REFUND_REQUESTS.labels(decision.flow.value, decision.reason).inc)
    log.info("refund requested", refund_request_id=request.id, flow=decision.flow.value)
    return outcome.request


# -- moving a request on -----------------------------------------------------------------


async def move(unit: Unit[Deps], request_id: str, decide_move: Move) -> Outcome | None:
    """Locks the request, decides its move and saves it; None when there is no such
    request."""
    request = await repo.get_request(unit.conn, request_id, lock=True)
    if request is None:
        return None
    outcome = decide_move(request, unit.now)
    await _record(unit, request, outcome)
    return outcome


async def shipment_stopped(unit: Unit[Deps], stop: ShipmentStopped) -> None:
    await move(unit, stop.refund_request_id, partial(transitions.shipment_stopped, stop=stop))


async def shipment_left(unit: Unit[Deps], left: ShipmentAlreadyDispatched) -> None:
    decided = partial(transitions.shipment_left, left=left)
    outcome = await move(unit, left.refund_request_id, decided)
    if outcome is not None and outcome.events:
        log.info("refund before shipping became a return", refund_request_id=outcome.request.id)


async def refund_paid(unit: Unit[Deps], order_id: str, refund: RefundPaid) -> None:
    if refund.refund_request_id is None:
        return  # a late payment refunded by payment itself: never part of the paid amount
    if await repo.record_refund(unit.conn, order_id, refund):  # once per refund id
        await move(unit, refund.refund_request_id, partial(transitions.refund_paid, refund=refund))


async def refund_failed(unit: Unit[Deps], failure: RefundFailed) -> None:
    if failure.refund_request_id is not None:
        decided = partial(transitions.refund_failed, failure=failure)
        await move(unit, failure.refund_request_id, decided)


async def rule_due(unit: Unit[Deps], timer: Timer) -> None:
    """The not-received rule's timer for request `timer.key`."""
    request = await repo.get_request(unit.conn, timer.key, lock=True)
    if request is None:
        return
    order = await repo.load_order(unit.conn, request.order_id)
    now = max(unit.now, timer.due_at)  # the timer is due by the database's clock
    decided = transitions.rule_fired(
        request, unit.now, order=order, policy=unit.deps.policy, now=now
    )
    await _record(unit, request, decided)


async def _record(unit: Unit[Deps], before: RefundRequest, outcome: Outcome) -> None:
    """Saves what a transition decided: the request, its audit steps, events and timers."""
    after = outcome.request
    if after != before:
        await repo.save_request(unit.conn, after)
    await repo.add_audits(unit.conn, after.id, outcome.audits)
    await publish(unit, after.id, after.order_id, outcome.events, outcome.timers)


async def publish(
    unit: Unit[Deps],
    key: str,
    order_id: str,
    events: list[Event],
    timers: dict[str, datetime | None],
) -> None:
    """Emits what a transition of request or exchange `key` decided and sets its timers
    (by kind; None cancels)."""
    for event in events:
        await unit.emit(event, order_id=order_id)
    for kind, due_at in timers.items():
        if due_at is None:
            await unit.cancel_timer(kind, key)
        else:
            await unit.schedule(kind, key, due_at, {"order_id": order_id})
