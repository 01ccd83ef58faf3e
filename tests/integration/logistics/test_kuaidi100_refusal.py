"""A cash-on-delivery parcel tracked through Kuaidi100 (the stub speaks its wire format)
that the recipient refuses (拒签): told once though every push repeats the whole history,
followed on its way back (退回), and back at the shop (退签) its goods are on the shelf
again, once."""

from __future__ import annotations

from shared.contracts.events.common import PaymentMethod
from tests.integration.logistics.kuaidi100_support import (
    logistics,
    shipped,
    subscribed,
    timeline,
)
from tests.integration.logistics.support import Logistics, of, placed
from tests.support.events import new_id, payload
from tests.support.kuaidi100_stub import Kuaidi100Stub


async def test_a_refusal_pushed_by_kuaidi100_is_told_once_and_the_return_restocked_once(
    lg: Logistics, kd: Kuaidi100Stub
) -> None:
    order_id = new_id("ord")
    async with logistics(lg, kd) as runtime:
        sku = await lg.stocked(on_hand=4)
        await lg.send(placed([(sku, 3)], method=PaymentMethod.CASH_ON_DELIVERY), order_id)
        ship = await shipped(lg, order_id)
        number = ship["tracking_number"]
        await subscribed(kd, number)
        steps = [
            ("103", "【深圳市】顺丰速运 已收取快件", "广东,深圳市"),
            ("5", "快件交给王师傅, 正在派送途中", "浙江,杭州市,西湖区"),
            ("14", "收件人拒收, 快件将退回", "浙江,杭州市,西湖区"),
        ]
        for code, context, area in steps:
            kd.advance(number, code, context, area)
            assert (await kd.push(number)).status_code == 200
        again = await kd.push(number)  # Kuaidi100 pushes the same history again
        [refused] = await lg.tail.wait_for(of(order_id, "ShipmentRefused"))
        away = await lg.stock(sku)

        kd.advance(number, "6", "快件正在退回寄件人途中", "浙江,杭州市")
        assert (await kd.push(number)).status_code == 200
        kd.advance(number, "4", "快件已退签, 寄件人已签收", "广东,深圳市,南山区")
        for _ in range(2):  # the last push, repeated
            assert (await kd.push(number)).status_code == 200
        [returned] = await lg.tail.wait_for(of(order_id, "ShipmentReturnedToShop"))
        shown = await timeline(runtime, order_id)
        level = await lg.settled_stock(sku)

    assert again.status_code == 200
    body = payload(refused)
    assert body["reason"] == "refused" and body["city"] == "杭州市"
    assert body["description"] == "收件人拒收, 快件将退回"
    assert away["on_hand"] == 1, "three units left with the parcel"
    assert payload(returned)["restocked"] == [{"line_id": "l1", "sku": sku, "quantity": 3}]
    assert level["on_hand"] == 4 and level["available"] == 3, "back on the shelf once"
    told = lg.told(order_id)
    assert told.count("ShipmentRefused") == 1 and told.count("ShipmentReturnedToShop") == 1
    assert "ShipmentDelivered" not in told
    assert shown["status"] == "returned"
    checkpoints = shown["checkpoints"]
    assert isinstance(checkpoints, list)
    assert [c["status"] for c in checkpoints] == [
        "in_transit", "out_for_delivery", "refused", "returned", "returned_to_shop"
    ]  # fmt: skip


async def test_a_refused_parcel_whose_pushes_stop_is_polled_until_it_is_back_at_the_shop(
    lg: Logistics, kd: Kuaidi100Stub
) -> None:
    order_id = new_id("ord")
    quiet = {"tracking_poll_seconds": 0.3, "tracking_silent_seconds": 1.0}
    async with logistics(lg, kd, **quiet):
        sku = await lg.stocked(on_hand=2)
        await lg.send(placed([(sku, 1)], method=PaymentMethod.CASH_ON_DELIVERY), order_id)
        number = (await shipped(lg, order_id))["tracking_number"]
        await subscribed(kd, number)
        kd.advance(number, "14", "收件人拒收", "浙江,杭州市,西湖区")
        assert (await kd.push(number)).status_code == 200
        await lg.tail.wait_for(of(order_id, "ShipmentRefused"))

        # the pushes stop; the parcel goes on back to the shop
        kd.advance(number, "6", "快件正在退回寄件人途中", "浙江,杭州市")
        kd.advance(number, "4", "快件已退签", "广东,深圳市,南山区")
        await lg.tail.wait_for(of(order_id, "ShipmentReturnedToShop"), timeout=20)
        level = await lg.settled_stock(sku)
    assert level["on_hand"] == 2, "the parcel's way back was followed to the shelf"
