"""The steps of a refund request, shared by handlers, timers and HTTP commands.

Each step runs inside the caller's unit: it saves the new state, writes the audit
record (who, what, when) and emits the event, so all three commit together.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from services.returns import repository as repo
from services.returns.domain import (
    Decision,
    Policy,
    Status,
    after_dispatch,
    approver,
    cancellation_refund,
)
from services.returns.repository import RefundRequest
from shared.contracts.envelope import Money
from shared.contracts.events.logistics import ShipmentAlreadyDispatched, ShipmentStopped
from shared.contracts.events.returns import (
    Actor,
    RefundApproved,
    RefundFlow,
    RefundRejected,
    RefundRequested,
    ReturnReceived,
    ReturnShipped,
)
from shared.logging import get_logger
from shared.unit import Unit

log = get_logger(__name__)
RULE_TIMER = "not_received_rule"
AUTO_KEY = "auto:cancellation"


@dataclass(frozen=True)
class Deps:
    policy: Policy


def policy_of(unit: Unit) -> Policy:
    deps: Deps = unit.deps
    return deps.policy


async def open_request(
    unit: Unit,
    order_id: str,
    decision: Decision,
    *,
    actor: Actor,
    idempotency_key: str | None,
    evidence_urls: list[str] | None = None,
) -> RefundRequest:
    """Records a new request, publishes it and approves it when the rules say so. A refund
    before shipping is approved only once logistics answers that the shipment stopped."""
    request_id = f"rr_{uuid.uuid4().hex}"
    inserted = await repo.insert_request(
        unit.conn,
        request_id=request_id,
        order_id=order_id,
        idempotency_key=idempotency_key,
        decision=decision,
        evidence_urls=evidence_urls or [],
        requested_by=actor,
        now=unit.now,
    )
    if not inserted and idempotency_key is not None:  # the same request, asked again
        same = await repo.find_by_key(unit.conn, order_id, idempotency_key)
        assert same is not None
        return same
    details = {
        "flow": decision.flow.value,
        "reason": str(decision.reason),
        "amount": decision.amount,
        "lines": [line.model_dump() for line in decision.lines],
        "return_shipping_paid_by": decision.return_shipping_paid_by,
    }
    await repo.add_step(
        unit.conn, request_id, actor=actor, action="requested", at=unit.now, details=details
    )
    request = await _reload(unit, request_id)
    await _publish_request(unit, request, actor=actor)
    log.info("refund requested", refund_request_id=request_id, flow=decision.flow.value)
    if decision.flow is RefundFlow.BEFORE_SHIPPING:
        return request  # logistics answers ShipmentStopped or ShipmentAlreadyDispatched
    if decision.approve_as is not None:
        return await approve(unit, request, actor=decision.approve_as)
    if decision.rule_due_at is not None:
        await unit.schedule(RULE_TIMER, request_id, decision.rule_due_at, {"order_id": order_id})
    return request


async def _publish_request(
    unit: Unit, request: RefundRequest, *, actor: Actor, parcel_already_shipped: bool = False
) -> None:
    payer = request.return_shipping_paid_by
    assert payer in (None, "customer", "shop")
    await unit.emit(
        RefundRequested(
            refund_request_id=request.id,
            flow=RefundFlow(request.flow),
            reason=request.reason,
            lines=request.lines,
            amount=Money(amount=request.amount, currency=request.currency),
            return_shipping_paid_by=payer,
            actor=actor,
            parcel_already_shipped=parcel_already_shipped,
        ),
        order_id=request.order_id,
    )


def awaits_stop(request: RefundRequest) -> bool:
    """A refund before shipping not yet answered by logistics."""
    return request.flow == RefundFlow.BEFORE_SHIPPING and request.status == Status.REQUESTED


async def shipment_stopped(unit: Unit, request: RefundRequest, stop: ShipmentStopped) -> None:
    """Nothing will leave for the order: the refund before shipping is approved."""
    if not awaits_stop(request):
        return
    details = {"shipment_id": stop.shipment_id, "stock_released": stop.stock_released}
    await repo.add_step(
        unit.conn, request.id, actor="system", action="shipment_stopped", at=unit.now,
        details=details,
    )  # fmt: skip
    await approve(unit, request, actor=approver(request.requested_by))


async def shipment_left(
    unit: Unit, request: RefundRequest, left: ShipmentAlreadyDispatched
) -> None:
    """The parcel left before it could be stopped: no refund before shipping. The request
    becomes one with a return, recorded and told to the customer as a new RefundRequested."""
    if not awaits_stop(request):
        return
    flow, payer = after_dispatch(request.reason)
    await repo.update_request(
        unit.conn, request.id, status=Status.REQUESTED, now=unit.now, flow=flow.value,
        return_shipping_paid_by=payer,
    )  # fmt: skip
    details = {
        "from_flow": request.flow,
        "flow": flow.value,
        "why": "parcel_already_shipped",
        "shipment_id": left.shipment_id,
        "courier": left.courier,
        "tracking_number": left.tracking_number,
        "return_shipping_paid_by": payer,
    }
    await repo.add_step(
        unit.conn, request.id, actor="rule", action="converted", at=unit.now, details=details
    )
    reloaded = await _reload(unit, request.id)
    await _publish_request(unit, reloaded, actor="rule", parcel_already_shipped=True)
    log.info("refund before shipping became a return", refund_request_id=request.id)


async def approve(
    unit: Unit,
    request: RefundRequest,
    *,
    actor: Actor,
    flow: RefundFlow | None = None,
    details: dict[str, Any] | None = None,
) -> RefundRequest:
    """Approves the refund under `flow` (by default the request's own)."""
    flow = flow or RefundFlow(request.flow)
    await repo.update_request(
        unit.conn, request.id, status=Status.APPROVED, now=unit.now, flow=flow.value
    )
    step = {"flow": flow.value, "amount": request.amount, **(details or {})}
    await repo.add_step(
        unit.conn, request.id, actor=actor, action="approved", at=unit.now, details=step
    )
    await unit.emit(
        RefundApproved(
            refund_request_id=request.id,
            flow=flow,
            lines=request.lines,
            amount=Money(amount=request.amount, currency=request.currency),
            actor=actor,
        ),
        order_id=request.order_id,
    )
    await unit.cancel_timer(RULE_TIMER, request.id)
    return await _reload(unit, request.id)


async def reject(unit: Unit, request: RefundRequest, *, actor: Actor, reason: str) -> RefundRequest:
    await repo.update_request(
        unit.conn, request.id, status=Status.REJECTED, now=unit.now, rejection_reason=reason
    )
    await repo.add_step(
        unit.conn,
        request.id,
        actor=actor,
        action="rejected",
        at=unit.now,
        details={"reason": reason},
    )
    await unit.emit(
        RefundRejected(refund_request_id=request.id, reason=reason, actor=actor),
        order_id=request.order_id,
    )
    await unit.cancel_timer(RULE_TIMER, request.id)
    return await _reload(unit, request.id)


async def ship_return(
    unit: Unit, request: RefundRequest, *, actor: Actor, courier: str, tracking_number: str
) -> RefundRequest:
    await repo.update_request(
        unit.conn,
        request.id,
        status=Status.RETURN_SHIPPED,
        now=unit.now,
        return_courier=courier,
        return_tracking_number=tracking_number,
    )
    await repo.add_step(
        unit.conn,
        request.id,
        actor=actor,
        action="return_shipped",
        at=unit.now,
        details={"courier": courier, "tracking_number": tracking_number},
    )
    await unit.emit(
        ReturnShipped(
            refund_request_id=request.id, courier=courier, tracking_number=tracking_number
        ),
        order_id=request.order_id,
    )
    return await _reload(unit, request.id)


async def receive_return(unit: Unit, request: RefundRequest, *, actor: Actor) -> RefundRequest:
    """The goods are back: ReturnReceived, then the refund is approved."""
    await repo.add_step(
        unit.conn,
        request.id,
        actor=actor,
        action="return_received",
        at=unit.now,
        details={"tracking_number": request.return_tracking_number},
    )
    await unit.emit(
        ReturnReceived(
            refund_request_id=request.id, lines=request.lines, received_at=unit.now, actor=actor
        ),
        order_id=request.order_id,
    )
    return await approve(unit, request, actor=actor, flow=RefundFlow.WITH_RETURN)


async def refund_cancelled_order(unit: Unit, order_id: str, reason: str) -> None:
    """Flow 1 for a paid order cancelled before shipping: one request per order, approved."""
    order = await repo.load_order(unit.conn, order_id, lock=True)
    if order is None or order.paid <= 0:
        await repo.record_order_facts(unit.conn, order_id, auto_refund_reason=reason)
        log.info("cancelled order's payment not seen yet; refund waits for it")
        return
    if await repo.find_by_key(unit.conn, order_id, AUTO_KEY) is not None:
        return
    decision = cancellation_refund(order, await repo.holdings(unit.conn, order_id), reason)
    if decision is None:
        log.info("cancelled order has nothing left to refund")
        return
    await open_request(unit, order_id, decision, actor="system", idempotency_key=AUTO_KEY)


async def _reload(unit: Unit, request_id: str) -> RefundRequest:
    request = await repo.get_request(unit.conn, request_id)
    assert request is not None
    return request
