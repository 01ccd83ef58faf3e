"""How a refund request moves on, one function per command or fact.

Each returns an `Outcome`: the request as it is afterwards, the audit steps (who, what,
when), the events to emit and the timers to set or cancel. Nothing here does I/O:
`services.returns.steps` saves an outcome once, so state, audit and events commit
together. A command the rules refuse raises `Refused` and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from services.returns.domain.eligibility import Decision, rule_allows
from services.returns.domain.records import (
    QUALITY_REASONS,
    UNDECIDED,
    Audit,
    OrderView,
    Payer,
    Policy,
    RefundRequest,
    Status,
    conflict,
)
from shared.contracts.envelope import Event, Money
from shared.contracts.events.logistics import ShipmentAlreadyDispatched, ShipmentStopped
from shared.contracts.events.payment import RefundFailed, RefundPaid
from shared.contracts.events.returns import (
    Actor,
    RefundApproved,
    RefundFlow,
    RefundRejected,
    RefundRequested,
    ReturnReceived,
    ReturnShipped,
)

RULE_TIMER = "not_received_rule"


@dataclass
class Outcome:
    request: RefundRequest
    audits: list[Audit] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    timers: dict[str, datetime | None] = field(default_factory=dict)  # by kind; None cancels

    def then(self, later: Outcome) -> Outcome:
        """This outcome followed by `later`, decided on this one's request."""
        return Outcome(
            later.request,
            self.audits + later.audits,
            self.events + later.events,
            {**self.timers, **later.timers},
        )


def new_request(
    request_id: str,
    order_id: str,
    decision: Decision,
    *,
    requested_by: Actor,
    evidence_urls: list[str],
    at: datetime,
) -> RefundRequest:
    """A request as it is first recorded, before `opened` decides what follows."""
    return RefundRequest(
        id=request_id,
        order_id=order_id,
        flow=decision.flow.value,
        reason=decision.reason,
        status=Status.REQUESTED,
        amount=decision.amount,
        currency=decision.currency,
        lines=decision.lines,
        return_shipping_paid_by=decision.return_shipping_paid_by,
        evidence_urls=tuple(evidence_urls),
        requested_by=requested_by,
        rule_due_at=decision.rule_due_at,
        created_at=at,
        updated_at=at,
    )


def opened(request: RefundRequest, at: datetime, *, decision: Decision, actor: Actor) -> Outcome:
    """A new request is published and approved when the rules say so. A refund before
    shipping is approved only once logistics answers that the shipment stopped."""
    details: dict[str, Any] = {
        "flow": decision.flow.value,
        "reason": str(decision.reason),
        "amount": decision.amount,
        "lines": [line.model_dump() for line in decision.lines],
        "return_shipping_paid_by": decision.return_shipping_paid_by,
    }
    if decision.price_difference:  # per line, what a price difference takes
        details["price_difference"] = decision.price_difference
    if decision.deducted:  # per line, the share of a price difference refunded already
        details["price_difference_deducted"] = decision.deducted
    audit = Audit(actor, "requested", at, details)
    outcome = Outcome(request, [audit], [_published(request, actor)])
    if decision.flow is RefundFlow.BEFORE_SHIPPING:
        return outcome  # logistics answers ShipmentStopped or ShipmentAlreadyDispatched
    if decision.approve_as is not None:
        return outcome.then(approved(request, at, actor=decision.approve_as))
    if decision.rule_due_at is not None:
        outcome.timers[RULE_TIMER] = decision.rule_due_at
    return outcome


def approved(
    request: RefundRequest,
    at: datetime,
    *,
    actor: Actor,
    flow: RefundFlow | None = None,
    details: dict[str, Any] | None = None,
) -> Outcome:
    """The refund is approved under `flow` (by default the request's own)."""
    flow = flow or RefundFlow(request.flow)
    after = replace(request, status=Status.APPROVED, flow=flow.value, updated_at=at)
    step = {"flow": flow.value, "amount": request.amount, **(details or {})}
    event = RefundApproved(
        refund_request_id=request.id,
        flow=flow,
        lines=request.lines,
        amount=_money(request),
        actor=actor,
    )
    return Outcome(after, [Audit(actor, "approved", at, step)], [event], {RULE_TIMER: None})


# -- commands (HTTP) ---------------------------------------------------------------------


def approve(
    request: RefundRequest,
    at: datetime,
    *,
    actor: Actor,
    note: str | None = None,
    by: str | None = None,
) -> Outcome:
    """Operations approve (`by` names the person); approving a request with a return before
    the goods are back waives the return."""
    require_status(request.status, UNDECIDED, "approve")
    _not_awaiting_stop(request)
    details: dict[str, Any] = {"note": note} if note else {}
    if by:
        details["by"] = by
    if request.flow == RefundFlow.WITH_RETURN:
        details["return_waived"] = True
        return approved(request, at, actor=actor, flow=RefundFlow.NO_RETURN, details=details)
    return approved(request, at, actor=actor, details=details)


def reject(
    request: RefundRequest, at: datetime, *, actor: Actor, reason: str, by: str | None = None
) -> Outcome:
    """Operations refuse, with the reason the customer is told (`by` names the person)."""
    require_status(request.status, UNDECIDED, "reject")
    _not_awaiting_stop(request)
    after = replace(request, status=Status.REJECTED, rejection_reason=reason, updated_at=at)
    details = {"reason": reason, **({"by": by} if by else {})}
    return Outcome(
        after,
        [Audit(actor, "rejected", at, details)],
        [RefundRejected(refund_request_id=request.id, reason=reason, actor=actor)],
        {RULE_TIMER: None},
    )


def report_return(
    request: RefundRequest, at: datetime, *, actor: Actor, courier: str, tracking_number: str
) -> Outcome:
    """The customer sent the goods back under `tracking_number`; the same report again
    changes nothing."""
    require_return(request.flow, request.status, "report a return parcel")
    parcel = (request.return_courier, request.return_tracking_number)
    if request.status == Status.RETURN_SHIPPED and parcel == (courier, tracking_number):
        return Outcome(request)
    require_status(request.status, (Status.REQUESTED,), "report a return parcel for")
    after = replace(
        request,
        status=Status.RETURN_SHIPPED,
        return_courier=courier,
        return_tracking_number=tracking_number,
        updated_at=at,
    )
    details = {"courier": courier, "tracking_number": tracking_number}
    event = ReturnShipped(
        refund_request_id=request.id, courier=courier, tracking_number=tracking_number
    )
    return Outcome(after, [Audit(actor, "return_shipped", at, details)], [event])


def receive_return(request: RefundRequest, at: datetime, *, actor: Actor) -> Outcome:
    """Operations record the goods back."""
    require_return(request.flow, request.status, "receive a return")
    require_status(request.status, UNDECIDED, "receive the return of")
    return _returned(request, at, actor)


# -- facts (events and timers) -----------------------------------------------------------


def parcel_returned(request: RefundRequest, at: datetime) -> Outcome:
    """The carrier delivered the request's return parcel back to the shop."""
    if request.status not in UNDECIDED:
        return Outcome(request)
    return _returned(request, at, "system")


def shipment_stopped(request: RefundRequest, at: datetime, *, stop: ShipmentStopped) -> Outcome:
    """Nothing will leave for the order: the refund before shipping is approved."""
    if not awaits_stop(request):
        return Outcome(request)
    details = {"shipment_id": stop.shipment_id, "stock_released": stop.stock_released}
    stopped = Outcome(request, [Audit("system", "shipment_stopped", at, details)])
    return stopped.then(approved(request, at, actor=approver(request.requested_by)))


def shipment_left(
    request: RefundRequest, at: datetime, *, left: ShipmentAlreadyDispatched
) -> Outcome:
    """The parcel left before it could be stopped: no refund before shipping. The request
    becomes one with a return, recorded and told to the customer as a new RefundRequested."""
    if not awaits_stop(request):
        return Outcome(request)
    flow, payer = after_dispatch(request.reason)
    after = replace(
        request,
        status=Status.REQUESTED,
        flow=flow.value,
        return_shipping_paid_by=payer,
        updated_at=at,
    )
    details = {
        "from_flow": request.flow,
        "flow": flow.value,
        "why": "parcel_already_shipped",
        "shipment_id": left.shipment_id,
        "courier": left.courier,
        "tracking_number": left.tracking_number,
        "return_shipping_paid_by": payer,
    }
    event = _published(after, "rule", parcel_already_shipped=True)
    return Outcome(after, [Audit("rule", "converted", at, details)], [event])


def refund_paid(request: RefundRequest, at: datetime, *, refund: RefundPaid) -> Outcome:
    """Money back is money back: a request approved or failed is refunded."""
    details = {"refund_id": refund.refund_id, "amount": refund.amount.amount}
    done = request.status in (Status.APPROVED, Status.REFUND_FAILED)
    after = replace(request, status=Status.REFUNDED, updated_at=at) if done else request
    return Outcome(after, [Audit("system", "refunded", at, details)])


def refund_failed(request: RefundRequest, at: datetime, *, failure: RefundFailed) -> Outcome:
    """Payment could not refund; a final failure frees the request's lines."""
    details = {
        "refund_id": failure.refund_id,
        "reason": failure.reason,
        "will_retry": failure.will_retry,
    }
    final = not failure.will_retry and request.status == Status.APPROVED
    after = replace(request, status=Status.REFUND_FAILED, updated_at=at) if final else request
    return Outcome(after, [Audit("system", "refund_failed", at, details)])


def rule_fired(
    request: RefundRequest,
    at: datetime,
    *,
    order: OrderView | None,
    policy: Policy,
    now: datetime,
) -> Outcome:
    """The moment a not-arrived parcel may be refunded by rule; otherwise operations decide."""
    if request.status != Status.REQUESTED:
        return Outcome(request)
    if order is not None and rule_allows(order, policy, now):
        return approved(request, at, actor="rule")
    why = "the parcel was delivered" if order and order.delivered_at else "not due yet"
    return Outcome(request, [Audit("rule", "rule_not_applied", at, {"why": why})])


# -- rules -------------------------------------------------------------------------------


def awaits_stop(request: RefundRequest) -> bool:
    """A refund before shipping not yet answered by logistics."""
    return request.flow == RefundFlow.BEFORE_SHIPPING and request.status == Status.REQUESTED


def after_dispatch(reason: str) -> tuple[RefundFlow, Payer]:
    """A refund before shipping whose parcel had already left: the goods come back first
    (refused at the door or sent back), postage as for any return."""
    payer: Payer = "shop" if reason in QUALITY_REASONS else "customer"
    return RefundFlow.WITH_RETURN, payer


def approver(requested_by: str) -> Actor:
    """Who approves a refund before shipping once its shipment stopped: the system for the
    refunds it opened itself (cancelled paid orders), the rule for a customer's request."""
    return "system" if requested_by == "system" else "rule"


def require_status(current: str, allowed: tuple[Status, ...], action: str) -> None:
    if current not in allowed:
        raise conflict("wrong_state", f"cannot {action} a request that is {current}", current)


def require_return(flow: str, status: str, action: str) -> None:
    if flow != RefundFlow.WITH_RETURN:
        raise conflict("no_return_needed", f"cannot {action}: this refund needs no return", status)


def _not_awaiting_stop(request: RefundRequest) -> None:
    """A refund before shipping is decided by the shipment's stop, not by hand."""
    if awaits_stop(request):
        message = "a refund before shipping is decided once logistics answers the stop"
        raise conflict("awaiting_shipment_stop", message, request.status)


def _returned(request: RefundRequest, at: datetime, actor: Actor) -> Outcome:
    """The goods are back: ReturnReceived, then the refund is approved."""
    details = {"tracking_number": request.return_tracking_number}
    event = ReturnReceived(
        refund_request_id=request.id, lines=request.lines, received_at=at, actor=actor
    )
    received = Outcome(request, [Audit(actor, "return_received", at, details)], [event])
    return received.then(approved(request, at, actor=actor, flow=RefundFlow.WITH_RETURN))


def _published(
    request: RefundRequest, actor: Actor, *, parcel_already_shipped: bool = False
) -> RefundRequested:
    payer = request.return_shipping_paid_by
    assert payer in (None, "customer", "shop")
    return RefundRequested(
        refund_request_id=request.id,
        flow=RefundFlow(request.flow),
        reason=request.reason,
        lines=request.lines,
        amount=_money(request),
        return_shipping_paid_by=payer,
        actor=actor,
        parcel_already_shipped=parcel_already_shipped,
    )


def _money(request: RefundRequest) -> Money:
    return Money(amount=request.amount, currency=request.currency)
