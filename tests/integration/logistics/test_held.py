"""Events about an order logistics has not seen placed are held (shared.held) and handled
once OrderPlaced takes the order: a payment that overtook its order still ships it, a
cancellation that overtook it still reserves nothing."""

from __future__ import annotations

from shared.contracts.events.order import OrderCancelled
from shared.runtime import Runtime
from tests.integration.logistics.support import Logistics, of, placed
from tests.support.db import held
from tests.support.events import new_id, paid, payload
from tests.support.kafka import TopicTail
from tests.support.polling import eventually


async def test_a_payment_before_its_order_ships_the_order_once_it_is_placed(
    lg: Logistics, tail: TopicTail
) -> None:
    sku, order_id = new_id("SKU"), new_id("ord")
    async with lg.running() as runtime:
        await lg.put_stock(sku, on_hand=3)
        await lg.before_its_order(paid(9_900), order_id, placed([(sku, 1)]))
        [shipped] = await tail.wait_for(of(order_id, "ShipmentShipped"))
        left = len(await held(runtime, order_id))
        level = await lg.stock(sku)
    steps = [r.type for r in tail.records if of(order_id)(r)]
    assert steps == ["StockReserved", "ShippingPromiseSet", "ShipmentShipped"]
    assert payload(shipped)["tracking_number"]
    assert left == 0, "nothing stays held once the order is known"
    assert (level["on_hand"], level["reserved"]) == (2, 0)


async def test_a_cancellation_before_its_order_reserves_nothing_once_it_is_placed(
    lg: Logistics, tail: TopicTail
) -> None:
    sku, order_id = new_id("SKU"), new_id("ord")
    async with lg.running() as runtime:
        await lg.put_stock(sku, on_hand=3)
        cancelled = OrderCancelled(reason="customer_request", was_paid=False)
        await lg.before_its_order(cancelled, order_id, placed([(sku, 1)]))
        await lg.send(paid(9_900), order_id)
        marker = new_id("ord")
        await lg.send(placed([(sku, 1)]), marker)
        await tail.wait_for(of(marker, "StockReserved"))
        await eventually(lambda: _handled(runtime, order_id), what="the order taken")
        left = len(await held(runtime, order_id))
        level = await lg.stock(sku)
    assert not [r for r in tail.records if of(order_id)(r)], "never reserved nor shipped"
    assert left == 0
    assert level["reserved"] == 1


async def _handled(runtime: Runtime, order_id: str) -> bool:
    async with runtime.db.acquire() as conn:
        state = await conn.fetchval("SELECT state FROM fulfilments WHERE order_id = $1", order_id)
    return state == "cancelled"
