"""A provider call is made once however the transaction that asked for it ends: a batch
rolled back by another message, a transaction killed after the provider call, a worker that
dies before it records the outcome."""

from __future__ import annotations

from typing import Any

import pytest

from services.payment.handlers import HANDLERS
from services.payment.providers.sandbox import SandboxProvider
from services.payment.steps import refunds
from shared.contracts.events.common import PaymentMethod
from shared.contracts.events.order import OrderClosed
from shared.contracts.events.returns import RefundApproved
from shared.runtime import Runtime
from shared.unit import Unit
from tests.integration.payment.support import Payment, approved, placed
from tests.support.events import new_id, new_order_id, raw, wrap
from tests.support.polling import eventually
from tests.support.processing import dies_before_commit, fails, processor


def sandbox_of(payment: Runtime) -> SandboxProvider:
    sandbox = payment.definition.deps.providers["sandbox"]
    assert isinstance(sandbox, SandboxProvider)
    return sandbox


async def reference_of(pay: Payment, order_id: str) -> str:
    [charge] = [e for e in (await pay.view(order_id))["ledger"] if e["kind"] == "charge"]
    return str(charge["provider_reference"])


async def refunded_once(pay: Payment, order_id: str, amount: int) -> None:
    reference = await reference_of(pay, order_id)
    [paid] = await pay.published(order_id, "RefundPaid")
    assert paid["amount"]["amount"] == amount
    body = await eventually(
        lambda: _refunded(pay, order_id), what="the refund recorded in the ledger"
    )
    assert (body["refunded"], body["net"]) == (amount, body["captured"] - amount)
    [refund] = body["refunds"]
    assert refund["status"] == "paid"
    paid_out = [m.amount for ref, m in sandbox_of(pay.runtime).refunds_paid if ref == reference]
    assert paid_out == [amount], "the provider paid the refund exactly once"


async def _refunded(pay: Payment, order_id: str) -> dict[str, Any] | None:
    body = await pay.view(order_id)
    return body if body["refunded"] else None


async def test_a_batch_rolled_back_after_the_refund_asked_pays_it_once(pay: Payment) -> None:
    order_id = await pay.paid_order(5_000)

    processing = processor(pay.runtime, {OrderClosed: fails}, max_attempts=1)
    refund = wrap(approved(new_id("rr_batch"), 5_000), order_id)
    other = wrap(OrderClosed(), new_order_id())

    outcomes = await processing.process_batch([raw(refund, 1), raw(other, 2)])

    assert outcomes == ["handled", "dead_lettered"]
    await refunded_once(pay, order_id, 5_000)


async def test_a_transaction_killed_after_the_refund_call_pays_it_once_on_redelivery(
    pay: Payment,
) -> None:
    order_id = await pay.paid_order(4_000)
    killed: list[str] = []

    dies = dies_before_commit(HANDLERS[RefundApproved], killed)

    processing = processor(pay.runtime, {RefundApproved: dies}, backoff_seconds=0.01)
    refund = wrap(approved(new_id("rr_killed"), 4_000), order_id)

    assert await processing.process(raw(refund, 1)) == "handled"  # redelivered and handled

    assert killed == [str(refund.event_id)]
    await refunded_once(pay, order_id, 4_000)


async def test_a_worker_that_dies_before_recording_the_refund_pays_it_once(
    pay: Payment,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    order_id = await pay.paid_order(3_000)
    recorded = refunds.record_refund_paid
    lost: list[str] = []

    async def lost_once(unit: Unit, *args: Any) -> None:
        if not lost:
            lost.append(unit.service)
            raise ConnectionResetError("the database connection was lost")
        await recorded(unit, *args)

    monkeypatch.setattr(refunds, "record_refund_paid", lost_once)
    refund = wrap(approved(new_id("rr_lost"), 3_000), order_id)
    processing = processor(pay.runtime)

    assert await processing.process(raw(refund, 1)) == "handled"

    await refunded_once(pay, order_id, 3_000)
    assert lost, "the first outcome was lost"


async def test_a_batch_rolled_back_after_the_session_opened_requests_payment_once(
    pay: Payment,
) -> None:
    processing = processor(pay.runtime, {OrderClosed: fails}, max_attempts=1)
    order_id = new_order_id()
    place = wrap(placed(PaymentMethod.CARD), order_id)
    other = wrap(OrderClosed(), new_order_id())

    outcomes = await processing.process_batch([raw(place, 1), raw(other, 2)])

    assert outcomes == ["handled", "dead_lettered"]
    [requested] = await pay.published(order_id, "PaymentRequested")
    assert requested["checkout_url"]
    opened = [a for o, a in sandbox_of(pay.runtime).sessions_opened if o == order_id]
    assert opened == [requested["attempt_id"]], "one session, for the one recorded attempt"
    [attempt] = (await pay.view(order_id))["attempts"]
    assert (attempt["attempt_id"], attempt["status"]) == (requested["attempt_id"], "open")
