"""A parcel is booked with its courier once however the transaction that dispatched it ends:
a batch rolled back by another message, or a transaction killed after the booking."""

from __future__ import annotations

from services.logistics.carriers.sandbox import SandboxCarrier
from services.logistics.deps import Deps
from services.logistics.handlers import HANDLERS
from shared.contracts.events.order import OrderClosed, OrderPaid
from shared.runtime import Runtime
from tests.integration.logistics.support import Logistics, of
from tests.support.events import new_id, paid, payload, raw, wrap
from tests.support.kafka import TopicTail
from tests.support.processing import dies_before_commit, fails, processor


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


async def reserved_order(lg: Logistics) -> str:
    order_id = new_id("ord")
    sku = await lg.stocked(on_hand=3)
    await lg.reserve(order_id, sku, 1)
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
    lg: Logistics, tail: TopicTail
) -> None:
    async with lg.running() as runtime:
        order_id = await reserved_order(lg)
        processing = processor(runtime, {OrderClosed: fails}, max_attempts=1)
        pay = wrap(paid(9_900), order_id)
        other = wrap(OrderClosed(), new_id("ord"))

        outcomes = await processing.process_batch([raw(pay, 1), raw(other, 2)])

        assert outcomes == ["handled", "dead_lettered"]
        await shipped_once(runtime, tail, order_id)


async def test_a_transaction_killed_after_the_booking_books_once_on_redelivery(
    lg: Logistics, tail: TopicTail
) -> None:
    killed: list[str] = []

    dies = dies_before_commit(HANDLERS[OrderPaid], killed)

    async with lg.running() as runtime:
        order_id = await reserved_order(lg)
        processing = processor(runtime, {OrderPaid: dies}, backoff_seconds=0.01)
        pay = wrap(paid(9_900), order_id)

        assert await processing.process(raw(pay, 1)) == "handled"

        assert killed == [str(pay.event_id)]
        await shipped_once(runtime, tail, order_id)
