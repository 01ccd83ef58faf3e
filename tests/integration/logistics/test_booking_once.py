"""A parcel is booked with its courier once however the transaction that dispatched it ends:
a batch rolled back by another message, or a transaction killed after the booking."""

from __future__ import annotations

from typing import Any

from services.logistics.carriers.sandbox import SandboxCarrier
from services.logistics.deps import Deps
from services.logistics.handlers import HANDLERS
from shared.consumer import Incoming, MessageProcessor, RawMessage
from shared.contracts.envelope import Envelope
from shared.contracts.events.order import OrderClosed, OrderPaid
from shared.contracts.registry import topic_for_event
from shared.runtime import Runtime
from shared.unit import Unit
from tests.integration.logistics.support import (
    logistics,
    new_id,
    of,
    paid,
    payload,
    placed,
    put_stock,
    send,
)
from tests.support.infra import Infra
from tests.support.kafka import TopicTail


def raw(envelope: Envelope, offset: int) -> RawMessage:
    topic = topic_for_event(envelope.type).name
    key = (envelope.order_id or "").encode()
    return RawMessage(topic, 0, offset, key, envelope.to_bytes())


def bookings(runtime: Runtime, order_id: str) -> list[str]:
    deps = runtime.definition.deps
    assert isinstance(deps, Deps)
    return [
        shipment
        for carrier in deps.carriers.values()
        if isinstance(carrier, SandboxCarrier)
        for order, shipment in carrier.bookings
        if order == order_id
    ]


async def reserved_order(infra: Infra, runtime: Runtime, tail: TopicTail) -> str:
    sku, order_id = new_id("SKU"), new_id("ord")
    await put_stock(runtime, sku, on_hand=3)
    await send(infra, placed([(sku, 1)]), order_id)
    await tail.wait_for(of(order_id, "StockReserved"))
    return order_id


async def shipped_once(runtime: Runtime, tail: TopicTail, order_id: str) -> None:
    [shipped] = await tail.wait_for(of(order_id, "ShipmentShipped"))
    assert bookings(runtime, order_id) == [payload(shipped)["shipment_id"]], "booked once"
    async with runtime.db.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT status, tracking_number FROM shipments WHERE order_id = $1", order_id
        )
    assert (row["status"], row["tracking_number"]) == (
        "shipped",
        payload(shipped)["tracking_number"],
    )


async def test_a_batch_rolled_back_after_the_booking_books_the_parcel_once(
    infra: Infra, database: str, tail: TopicTail
) -> None:
    async def fails(unit: Unit, msg: Incoming[Any]) -> None:
        raise ValueError("this message cannot be handled")

    async with logistics(infra, database) as runtime:
        order_id = await reserved_order(infra, runtime, tail)
        handlers = {**HANDLERS, OrderClosed: fails}
        processor = MessageProcessor(
            "logistics", runtime.db, handlers, runtime.units, max_attempts=1
        )
        pay = Envelope.wrap(paid(), producer="order", order_id=order_id)
        other = Envelope.wrap(OrderClosed(), producer="order", order_id=new_id("ord"))

        outcomes = await processor.process_batch([raw(pay, 1), raw(other, 2)])

        assert outcomes == ["handled", "dead_lettered"]
        await shipped_once(runtime, tail, order_id)


async def test_a_transaction_killed_after_the_booking_books_once_on_redelivery(
    infra: Infra, database: str, tail: TopicTail
) -> None:
    killed: list[str] = []

    async def killed_before_commit(unit: Unit, msg: Incoming[Any]) -> None:
        await HANDLERS[OrderPaid](unit, msg)
        if not killed:  # the process dies after the handler, before the commit
            killed.append(str(msg.envelope.event_id))
            raise ConnectionResetError("the database connection was lost")

    async with logistics(infra, database) as runtime:
        order_id = await reserved_order(infra, runtime, tail)
        handlers = {**HANDLERS, OrderPaid: killed_before_commit}
        processor = MessageProcessor(
            "logistics", runtime.db, handlers, runtime.units, backoff_seconds=0.01
        )
        pay = Envelope.wrap(paid(), producer="order", order_id=order_id)

        assert await processor.process(raw(pay, 1)) == "handled"

        assert killed == [str(pay.event_id)]
        await shipped_once(runtime, tail, order_id)
