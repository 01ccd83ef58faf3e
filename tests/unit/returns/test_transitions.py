"""How a request moves on: each command or fact decides one Outcome (the request after,
its audit steps, events and timers), and a refused command changes nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from services.returns.domain import transitions
from services.returns.domain.eligibility import Decision
from services.returns.domain.records import Policy, RefundRequest, Refused, Status
from shared.contracts.envelope import Money
from shared.contracts.events.common import LineQuantity
from shared.contracts.events.logistics import ShipmentAlreadyDispatched
from shared.contracts.events.payment import RefundFailed, RefundPaid
from shared.contracts.events.returns import RefundApproved, RefundFlow, RefundRequested

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
CUP = LineQuantity(line_id="l2", sku="SKU-CUP", quantity=1)
POLICY = Policy(return_window=timedelta(days=7), not_received_after=timedelta(days=5))


def decision(flow: RefundFlow, **overrides: object) -> Decision:
    values: dict[str, object] = {
        "flow": flow,
        "reason": "changed_mind",
        "lines": (CUP,),
        "amount": 3_000,
        "currency": "CNY",
        "return_shipping_paid_by": "customer" if flow is RefundFlow.WITH_RETURN else None,
        "approve_as": None,
    }
    values.update(overrides)
    return Decision(**values)  # type: ignore[arg-type]


def request(flow: RefundFlow, status: Status = Status.REQUESTED) -> RefundRequest:
    new = transitions.new_request(
        "rr_1", "ord_1", decision(flow), requested_by="customer", evidence_urls=[], at=NOW
    )
    return replace(new, status=status)


def test_a_request_approved_at_once_is_published_approved_and_audited_in_that_order() -> None:
    new = request(RefundFlow.NO_RETURN)
    outcome = transitions.opened(
        new, NOW, decision=decision(RefundFlow.NO_RETURN, approve_as="rule"), actor="customer"
    )
    assert outcome.request.status == Status.APPROVED
    assert [(a.actor, a.action) for a in outcome.audits] == [
        ("customer", "requested"),
        ("rule", "approved"),
    ]
    assert [type(e) for e in outcome.events] == [RefundRequested, RefundApproved]
    assert outcome.timers == {transitions.RULE_TIMER: None}


def test_a_request_waiting_for_the_rule_sets_its_timer() -> None:
    due = NOW + timedelta(days=3)
    new = request(RefundFlow.NO_RETURN)
    outcome = transitions.opened(
        new, NOW, decision=decision(RefundFlow.NO_RETURN, rule_due_at=due), actor="customer"
    )
    assert outcome.request == new and outcome.timers == {transitions.RULE_TIMER: due}


def test_operations_approving_before_the_goods_are_back_waive_the_return() -> None:
    outcome = transitions.approve(request(RefundFlow.WITH_RETURN), NOW, actor="operations")
    [event] = outcome.events
    assert isinstance(event, RefundApproved) and event.flow is RefundFlow.NO_RETURN
    assert outcome.audits[0].details["return_waived"] is True


def test_a_refund_before_shipping_is_not_decided_by_hand() -> None:
    with pytest.raises(Refused) as caught:
        transitions.reject(request(RefundFlow.BEFORE_SHIPPING), NOW, actor="operations", reason="x")
    assert caught.value.code == "awaiting_shipment_stop"


def test_a_parcel_already_gone_turns_the_refund_into_a_return_told_again() -> None:
    left = ShipmentAlreadyDispatched(
        refund_request_id="rr_1", shipment_id="shp_1", courier="sf", shipped_at=NOW
    )
    outcome = transitions.shipment_left(request(RefundFlow.BEFORE_SHIPPING), NOW, left=left)
    [event] = outcome.events
    assert outcome.request.flow == RefundFlow.WITH_RETURN
    assert isinstance(event, RefundRequested) and event.parcel_already_shipped
    assert transitions.shipment_left(outcome.request, NOW, left=left).events == []


def test_money_back_after_a_final_failure_still_makes_the_request_refunded() -> None:
    approved = request(RefundFlow.NO_RETURN, Status.APPROVED)
    money = Money(amount=3_000, currency="CNY")
    failure = RefundFailed(
        refund_id="rf_1", refund_request_id="rr_1", amount=money, reason="x", will_retry=False
    )
    failed = transitions.refund_failed(approved, NOW, failure=failure).request
    paid = RefundPaid(
        refund_id="rf_1", refund_request_id="rr_1", amount=money, reason="r", paid_at=NOW
    )
    assert failed.status == Status.REFUND_FAILED
    assert transitions.refund_paid(failed, NOW, refund=paid).request.status == Status.REFUNDED


def test_the_rule_does_not_refund_a_request_already_decided() -> None:
    decided = request(RefundFlow.NO_RETURN, Status.REJECTED)
    outcome = transitions.rule_fired(decided, NOW, order=None, policy=POLICY, now=NOW)
    assert outcome == transitions.Outcome(decided)
