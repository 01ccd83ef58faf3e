"""A Kuaidi100 subscription that ends (`abort`) is made again, once per abort however often
it is pushed; a courier code Kuaidi100 corrects (`comNew`) is the one subscribed and
queried from then on. The stub pushes in Kuaidi100's documented format."""

from __future__ import annotations

import json

import httpx

from tests.integration.logistics.kuaidi100_support import logistics, paid_order, shipped
from tests.integration.logistics.support import Logistics, of
from tests.support.kuaidi100_stub import Kuaidi100Stub
from tests.support.polling import eventually

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def subscriptions(kd: Kuaidi100Stub, number: str) -> list[dict[str, object]]:
    asked = [json.loads(call["param"]) for call in kd.calls["subscribe"]]
    return [param for param in asked if param.get("number") == number]


async def asked_times(kd: Kuaidi100Stub, number: str, times: int) -> list[dict[str, object]]:
    async def probe() -> list[dict[str, object]] | None:
        found = subscriptions(kd, number)
        return found if len(found) >= times else None

    return await eventually(probe, what=f"{number} subscribed {times} times")


async def test_an_aborted_subscription_is_made_again_once_however_often_it_is_pushed(
    lg: Logistics, kd: Kuaidi100Stub
) -> None:
    async with logistics(lg, kd) as runtime:
        order_id = await paid_order(lg)
        number = (await shipped(lg, order_id))["tracking_number"]
        await asked_times(kd, number, 1)
        callback = kd.parcels[number].callback_url
        assert callback is not None

        kd.abort(number, "3天查询无记录")
        body = kd.push_body(number)  # Kuaidi100 pushes until answered: the same body again
        async with httpx.AsyncClient(timeout=10) as http:
            for _ in range(3):
                reply = await http.post(callback, content=body, headers=FORM)
                assert reply.status_code == 200, reply.text
                assert reply.json()["result"] is True

        await asked_times(kd, number, 2)
        assert kd.parcels[number].subscription is not None, "followed again"

        kd.advance(number, "301", "快件已签收", "浙江,杭州市,西湖区")
        assert (await kd.push(number)).status_code == 200
        await lg.tail.wait_for(of(order_id, "ShipmentDelivered"))
        async with runtime.db.acquire() as conn:
            row = await conn.fetchrow(
                """SELECT resubscriptions, subscribed_at FROM carrier_tracking
                   WHERE tracking_number = $1""",
                number,
            )
        assert row["resubscriptions"] == 1 and row["subscribed_at"] is not None
        assert len(subscriptions(kd, number)) == 2


async def test_a_corrected_courier_code_is_subscribed_and_queried_from_then_on(
    lg: Logistics, kd: Kuaidi100Stub
) -> None:
    quiet = {"tracking_poll_seconds": 0.3, "tracking_silent_seconds": 1.0}
    async with logistics(lg, kd, **quiet):
        order_id = await paid_order(lg)
        number = (await shipped(lg, order_id))["tracking_number"]
        await asked_times(kd, number, 1)

        kd.correct(number, "shunfengkuaiyun")  # Kuaidi100 follows it under this code itself
        reply = await kd.push(number)
        assert reply.status_code == 200, reply.text
        again = (await asked_times(kd, number, 2))[1]
        assert again["company"] == "shunfengkuaiyun"

        # the pushes stop; the poller asks under the corrected code
        kd.advance(number, "301", "快件已签收", "浙江,杭州市,西湖区")
        await lg.tail.wait_for(of(order_id, "ShipmentDelivered"), timeout=20)
        coms = {json.loads(q["param"])["com"] for q in kd.calls["query"] if number in q["param"]}
        assert coms == {"shunfengkuaiyun"}
        assert lg.told(order_id).count("ShipmentDelivered") == 1


async def test_a_parcel_is_subscribed_again_at_most_three_times(
    lg: Logistics, kd: Kuaidi100Stub
) -> None:
    async with logistics(lg, kd) as runtime:
        order_id = await paid_order(lg)
        number = (await shipped(lg, order_id))["tracking_number"]
        await asked_times(kd, number, 1)
        for n in range(1, 5):  # each abort days after the last re-subscription
            async with runtime.db.acquire() as conn:
                await conn.execute(
                    """UPDATE carrier_tracking SET resubscribed_at = now() - interval '4 days'
                       WHERE tracking_number = $1 AND resubscribed_at IS NOT NULL""",
                    number,
                )
            kd.abort(number, "60天无变化")
            assert (await kd.push(number)).status_code == 200
            await asked_times(kd, number, min(n, 3) + 1)

        kd.advance(number, "301", "快件已签收", "浙江,杭州市,西湖区")
        assert (await kd.push(number)).status_code == 200
        await lg.tail.wait_for(of(order_id, "ShipmentDelivered"))
        assert len(subscriptions(kd, number)) == 4, "the first, then three again, no more"
