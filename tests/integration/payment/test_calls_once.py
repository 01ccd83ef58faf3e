"""A provider call is made once however the transaction that asked for it ends: a batch
rolled back by another message, a transaction killed after the provider call, a worker that
dies before it records the outcome."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from services.payment.handlers import HANDLERS
from services.payment.providers.sandbox import SandboxProvider
from services.payment.steps import refunds
from shared.consumer import Incoming, MessageProcessor, RawMessage
from shared.contracts.envelope import Envelope
from shared.contracts.events.common import PaymentMethod
from shared.contracts.events.order import OrderClosed
from shared.contracts.events.returns import RefundApproved
from shared.contracts.registry import topic_for_event
from shared.runtime import Runtime
from shared.unit import Unit
from tests.integration.payment.conftest import new_order_id, placed, published, view
from tests.integration.payment.test_refunds import approved, paid_order
from tests.support.infra import Infra
from tests.support.kafka import TopicTail
from tests.support.polling import eventually


def sandbox_of(payment: Runtime) -> SandboxProvider:
    sandbox = payment.definition.deps.providers["sandbox"]
    assert isinstance(sandbox, SandboxProvider)
    return sandbox


async def reference_of(client: httpx.AsyncClient, order_id: str) -> str:
    [charge] = [e for e in (await view(client, order_id))["ledger"] if e["kind"] == "charge"]
    return str(charge["provider_reference"])


def raw(envelope: Envelope, offset: int) -> RawMessage:
    topic = topic_for_event(envelope.type).name
    key = (envelope.order_id or "").encode()
    return RawMessage(topic, 0, offset, key, envelope.to_bytes())


async def refunded_once(
    payment: Runtime, client: httpx.AsyncClient, tail: TopicTail, order_id: str, amount: int
) -> None:
    reference = await reference_of(client, order_id)
    [paid] = await published(tail, order_id, "RefundPaid")
    assert paid["amount"]["amount"] == amount
    body = await eventually(
        lambda: _refunded(client, order_id), what="the refund recorded in the ledger"
    )
    assert (body["refunded"], body["net"]) == (amount, body["captured"] - amount)
    [refund] = body["refunds"]
    assert refund["status"] == "paid"
    paid_out = [m.amount for ref, m in sandbox_of(payment).refunds_paid if ref == reference]
    assert paid_out == [amount], "the provider paid the refund exactly once"


async def _refunded(client: httpx.AsyncClient, order_id: str) -> dict[str, Any] | None:
    body = await view(client, order_id)
    return body if body["refunded"] else None


async def test_a_batch_rolled_back_after_the_refund_asked_pays_it_once(
    infra: Infra, payment: Runtime, client: httpx.AsyncClient, tail: TopicTail
) -> None:
    order_id = await paid_order(infra, client, tail, amount=5_000)

    async def fails(unit: Unit, msg: Incoming[Any]) -> None:
        raise ValueError("this message cannot be handled")

    handlers = {**HANDLERS, OrderClosed: fails}
    processor = MessageProcessor(
        "payment", payment.db, handlers, units=payment.units, max_attempts=1
    )
    refund = Envelope.wrap(
        approved(f"rr_batch_{uuid.uuid4().hex[:8]}", 5_000), producer="returns", order_id=order_id
    )
    other = Envelope.wrap(OrderClosed(), producer="order", order_id=f"ord_{uuid.uuid4().hex[:8]}")

    outcomes = await processor.process_batch([raw(refund, 1), raw(other, 2)])

    assert outcomes == ["handled", "dead_lettered"]
    await refunded_once(payment, client, tail, order_id, 5_000)


async def test_a_transaction_killed_after_the_refund_call_pays_it_once_on_redelivery(
    infra: Infra, payment: Runtime, client: httpx.AsyncClient, tail: TopicTail
) -> None:
    order_id = await paid_order(infra, client, tail, amount=4_000)
    killed: list[str] = []

    async def killed_before_commit(unit: Unit, msg: Incoming[Any]) -> None:
        await HANDLERS[RefundApproved](unit, msg)
        if not killed:  # the process dies after the handler, before the commit
            killed.append(str(msg.envelope.event_id))
            raise ConnectionResetError("the database connection was lost")

    handlers = {**HANDLERS, RefundApproved: killed_before_commit}
    processor = MessageProcessor(
        "payment", payment.db, handlers, units=payment.units, backoff_seconds=0.01
    )
    refund = Envelope.wrap(
        approved(f"rr_killed_{uuid.uuid4().hex[:8]}", 4_000), producer="returns", order_id=order_id
    )

    assert await processor.process(raw(refund, 1)) == "handled"  # redelivered and handled

    assert killed == [str(refund.event_id)]
    await refunded_once(payment, client, tail, order_id, 4_000)


async def test_a_worker_that_dies_before_recording_the_refund_pays_it_once(
    infra: Infra,
    payment: Runtime,
    client: httpx.AsyncClient,
    tail: TopicTail,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    order_id = await paid_order(infra, client, tail, amount=3_000)
    recorded = refunds.record_refund_paid
    lost: list[str] = []

    async def lost_once(unit: Unit, *args: Any) -> None:
        if not lost:
            lost.append(unit.service)
            raise ConnectionResetError("the database connection was lost")
        await recorded(unit, *args)

    monkeypatch.setattr(refunds, "record_refund_paid", lost_once)
    refund = Envelope.wrap(
        approved(f"rr_lost_{uuid.uuid4().hex[:8]}", 3_000), producer="returns", order_id=order_id
    )
    processor = MessageProcessor("payment", payment.db, HANDLERS, units=payment.units)

    assert await processor.process(raw(refund, 1)) == "handled"

    await refunded_once(payment, client, tail, order_id, 3_000)
    assert lost, "the first outcome was lost"


async def test_a_batch_rolled_back_after_the_session_opened_requests_payment_once(
    infra: Infra, payment: Runtime, client: httpx.AsyncClient, tail: TopicTail
) -> None:
    async def fails(unit: Unit, msg: Incoming[Any]) -> None:
        raise ValueError("this message cannot be handled")

    handlers = {**HANDLERS, OrderClosed: fails}
    processor = MessageProcessor(
        "payment", payment.db, handlers, units=payment.units, max_attempts=1
    )
    order_id = new_order_id()
    place = Envelope.wrap(placed(PaymentMethod.CARD), producer="order", order_id=order_id)
    other = Envelope.wrap(OrderClosed(), producer="order", order_id=f"ord_{uuid.uuid4().hex[:8]}")

    outcomes = await processor.process_batch([raw(place, 1), raw(other, 2)])

    assert outcomes == ["handled", "dead_lettered"]
    [requested] = await published(tail, order_id, "PaymentRequested")
    assert requested["checkout_url"]
    opened = [a for o, a in sandbox_of(payment).sessions_opened if o == order_id]
    assert opened == [requested["attempt_id"]], "one session, for the one recorded attempt"
    [attempt] = (await view(client, order_id))["attempts"]
    assert (attempt["attempt_id"], attempt["status"]) == (requested["attempt_id"], "open")
