"""Cash on delivery: the delivery is told with what the courier's report says it collected,
which payment settles and compares with what was due."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.contracts.events.common import PaymentMethod
from tests.integration.logistics.support import Logistics, of, placed
from tests.support.events import new_id, payload
from tests.support.kafka import TopicTail


async def test_the_delivery_carries_the_amount_the_courier_reports(
    lg: Logistics, tail: TopicTail
) -> None:
    order_id = new_id("ord")
    async with lg.running():
        sku = await lg.stocked(on_hand=5)
        await lg.send(placed([(sku, 1)], method=PaymentMethod.CASH_ON_DELIVERY), order_id)
        [shipped] = await tail.wait_for(of(order_id, "ShipmentShipped"))
        courier, tracking = payload(shipped)["courier"], payload(shipped)["tracking_number"]
        short = {"amount": 9_000, "currency": "CNY"}
        at = datetime.now(UTC)
        done = await lg.post_checkpoint(
            courier, tracking, "cp-cash", at, "delivered", collected=short
        )
        bad = await lg.post_checkpoint(
            courier, tracking, "cp-bad", at, "delivered", collected={"amount": -1}
        )
        [delivered] = await tail.wait_for(of(order_id, "ShipmentDelivered"))
    assert payload(shipped)["cash_on_delivery"] == {"amount": 9_900, "currency": "CNY"}
    assert done.status_code == 200, done.text
    assert payload(delivered)["cash_collected"] == short
    assert bad.status_code == 422 and "collected" in bad.text
