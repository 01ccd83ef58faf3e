"""A parcel booked and tracked through Kuaidi100 (the stub speaks its wire format): paid,
booked with a tracking number and label, subscribed, moved to delivered by signed pushes;
a forged push refused, a repeated one recorded once, silent parcels polled, and the
booking's faults retried with the same key into one booking, or failed with the reason."""

from __future__ import annotations

import json

import pytest

from services.logistics.steps import tracking
from shared import effects
from tests.integration.logistics.kuaidi100_support import (
    SALT,
    logistics,
    paid_order,
    shipped,
    subscribed,
    timeline,
)
from tests.integration.logistics.support import Logistics, of
from tests.support.kuaidi100_stub import Kuaidi100Stub
from tests.support.polling import eventually


async def test_a_paid_order_is_booked_subscribed_and_delivered_by_pushes(
    lg: Logistics, kd: Kuaidi100Stub
) -> None:
    async with logistics(lg, kd) as runtime:
        order_id = await paid_order(lg)
        ship = await shipped(lg, order_id)

        [order] = kd.booked(ship["shipment_id"])  # our shipment id is Kuaidi100's orderId
        assert ship["tracking_number"] == order.kuaidinum and ship["courier"] == "sf"
        assert order.kuaidicom == "shunfeng" and order.param["reorder"] is False
        assert order.param["partnerId"] == "7551234567"
        assert order.param["recMan"]["name"] == "Li Wei"
        assert order.param["recMan"]["mobile"] == "13800138000"  # the order's contact's
        assert order.param["recMan"]["printAddr"] == "Zhejiang Hangzhou 1 Xihu Road"
        shown = await timeline(runtime, order_id)
        assert shown["label_url"] == f"{kd.base}/label/{order.task_id}.png"

        number = order.kuaidinum
        subscription = await subscribed(kd, number)
        parameters = subscription["parameters"]
        assert isinstance(parameters, dict)
        assert parameters["salt"] == SALT and parameters["resultv2"] == "4"
        assert parameters["phone"] == "8000"  # SF needs the recipient's last four digits
        assert parameters["callbackurl"].endswith("/v1/webhooks/kuaidi100?courier=sf")

        steps = [
            ("103", "【深圳市】顺丰速运 已收取快件", "广东,深圳市"),
            ("1001", "快件到达【杭州西湖集散点】", "浙江,杭州市"),
            ("5", "快件交给王师傅, 正在派送途中", "浙江,杭州市,西湖区"),
            ("301", "快件已签收, 签收人: 本人", "浙江,杭州市,西湖区"),
        ]
        for code, context, area in steps:
            kd.advance(number, code, context, area)
            reply = await kd.push(number)
            assert reply.status_code == 200, reply.text
            assert reply.json() == {"result": True, "returnCode": "200", "message": "成功"}

        types = ["CheckpointReached", "CheckpointReached", "ShipmentWentOutForDelivery",
                 "ShipmentDelivered"]  # fmt: skip
        await lg.tail.wait_for(of(order_id, "ShipmentDelivered"))
        assert lg.told(order_id)[-4:] == types
        shown = await timeline(runtime, order_id)
        assert shown["status"] == "delivered"
        checkpoints = shown["checkpoints"]
        assert isinstance(checkpoints, list)
        assert [c["status"] for c in checkpoints] == [
            "in_transit", "arrived_in_city", "out_for_delivery", "delivered"
        ]  # fmt: skip
        assert [c["city"] for c in checkpoints] == ["深圳市", "杭州市", "杭州市", "杭州市"]


async def test_a_forged_push_is_refused_and_a_repeated_one_recorded_once(
    lg: Logistics, kd: Kuaidi100Stub
) -> None:
    async with logistics(lg, kd) as runtime:
        order_id = await paid_order(lg)
        ship = await shipped(lg, order_id)
        number = ship["tracking_number"]
        await subscribed(kd, number)
        kd.advance(number, "103", "顺丰速运 已收取快件", "广东,深圳市")

        forged = await kd.push(number, salt="not-our-salt")
        assert forged.status_code == 401, forged.text
        assert forged.json()["error"] == "bad_signature"
        assert (await timeline(runtime, order_id))["checkpoints"] == []

        for _ in range(2):
            reply = await kd.push(number)
            assert reply.status_code == 200, reply.text
        kd.advance(number, "5", "快件正在派送途中", "浙江,杭州市")
        assert (await kd.push(number)).status_code == 200
        # a step from before the delivery round reaches Kuaidi100 late: it joins the timeline
        # in its place, and the parcel stays out for delivery
        kd.advance(number, "1001", "快件到达【杭州集散点】", "浙江,杭州市", late_by=1)
        assert (await kd.push(number)).status_code == 200

        shown = await timeline(runtime, order_id)
        checkpoints = shown["checkpoints"]
        assert isinstance(checkpoints, list)
        assert [c["status"] for c in checkpoints] == [
            "in_transit", "arrived_in_city", "out_for_delivery"
        ]  # fmt: skip
        assert shown["status"] == "out_for_delivery"
        await lg.tail.wait_for(of(order_id, "CheckpointReached"), count=2)
        assert lg.told(order_id).count("CheckpointReached") == 2
        assert lg.told(order_id).count("ShipmentWentOutForDelivery") == 1


async def test_when_pushes_stop_the_poller_fetches_the_rest(
    lg: Logistics, kd: Kuaidi100Stub
) -> None:
    quiet = {"tracking_poll_seconds": 0.3, "tracking_silent_seconds": 1.0}
    async with logistics(lg, kd, **quiet) as runtime:
        order_id = await paid_order(lg)
        number = (await shipped(lg, order_id))["tracking_number"]
        await subscribed(kd, number)
        kd.advance(number, "103", "顺丰速运 已收取快件", "广东,深圳市")
        assert (await kd.push(number)).status_code == 200

        # the pushes stop; the courier goes on
        kd.advance(number, "5", "快件正在派送途中", "浙江,杭州市,西湖区")
        kd.advance(number, "301", "快件已签收", "浙江,杭州市,西湖区")

        await lg.tail.wait_for(of(order_id, "ShipmentDelivered"), timeout=20)
        queried = [json.loads(call["param"])["num"] for call in kd.calls["query"]]
        assert number in queried
        assert (await timeline(runtime, order_id))["status"] == "delivered"

        # delivered: however long it stays silent, it is never asked for again
        async with runtime.db.acquire() as conn:
            await conn.execute(
                """UPDATE carrier_tracking SET last_push_at = now() - interval '1 day',
                       last_polled_at = now() - interval '1 day' WHERE tracking_number = $1""",
                number,
            )
        assert await tracking.poll_once(runtime, ["sf"]) == 0


FAST = effects.Policy(max_attempts=5, backoff_seconds=0.2, backoff_max_seconds=1.0)


@pytest.mark.parametrize("fault", ["http_500", "timeout", "lost", "too_many", "server_error"])
async def test_a_booking_fault_is_retried_with_the_same_key_into_one_booking(
    lg: Logistics, kd: Kuaidi100Stub, fault: str
) -> None:
    kd.late_seconds = 2.0  # the carrier answers after our 1 s timeout
    kd.fail_next("order", fault, fault)
    async with logistics(lg, kd, FAST):
        order_id = await paid_order(lg)
        ship = await shipped(lg, order_id)

        keys = [json.loads(call["param"])["orderId"] for call in kd.calls["order"]]
        assert keys == [ship["shipment_id"]] * 3, "retried with the same key"
        assert len(kd.booked(ship["shipment_id"])) == 1, "one booking at Kuaidi100"
        assert ship["tracking_number"] == kd.booked(ship["shipment_id"])[0].kuaidinum


async def test_a_booking_failing_every_attempt_fails_with_the_reason(
    lg: Logistics, kd: Kuaidi100Stub
) -> None:
    kd.fail_next("order", *["http_500"] * 5)
    async with logistics(lg, kd, FAST) as runtime:
        order_id = await paid_order(lg)

        async def given_up() -> tuple[str, int, str] | None:
            async with runtime.db.acquire() as conn:
                row = await conn.fetchrow(
                    """SELECT e.status, e.attempts, e.last_error FROM effects e
                       JOIN shipments s ON s.shipment_id = e.key
                       WHERE e.kind = 'carrier_booking' AND s.order_id = $1""",
                    order_id,
                )
            return (row["status"], row["attempts"], row["last_error"]) if row else None

        async def failed() -> tuple[str, int, str] | None:
            found = await given_up()
            return found if found and found[0] == "failed" else None

        _, attempts, error = await eventually(failed, what="the booking given up")
        assert (attempts, error) == (5, "kuaidi100_booking_http_500")
        assert len(kd.calls["order"]) == 5 and kd.orders == {}
        assert "ShipmentShipped" not in lg.told(order_id)


async def test_a_subscription_lost_once_is_made_again_and_taken_as_done(
    lg: Logistics, kd: Kuaidi100Stub
) -> None:
    kd.fail_next("subscribe", "lost")  # subscribed at Kuaidi100, the answer lost: 501 next
    async with logistics(lg, kd, FAST) as runtime:
        order_id = await paid_order(lg)
        number = (await shipped(lg, order_id))["tracking_number"]

        async def done() -> object:
            async with runtime.db.acquire() as conn:
                return await conn.fetchval(
                    "SELECT subscribed_at FROM carrier_tracking WHERE tracking_number = $1",
                    number,
                )

        await eventually(done, what="the subscription recorded")
        assert len(kd.calls["subscribe"]) == 2
        assert kd.parcels[number].subscription is not None


async def test_a_failed_tracking_query_is_asked_again_on_a_later_pass(
    lg: Logistics, kd: Kuaidi100Stub
) -> None:
    kd.late_seconds = 2.0  # after our 1 s timeout
    # silent for an hour: only a failed query is asked again before that
    quiet = {"tracking_poll_seconds": 0.3, "tracking_silent_seconds": 3600}
    async with logistics(lg, kd, **quiet) as runtime:
        order_id = await paid_order(lg)
        number = (await shipped(lg, order_id))["tracking_number"]
        await subscribed(kd, number)
        kd.fail_next("query", "http_500", "timeout", "too_many")
        kd.advance(number, "301", "快件已签收", "浙江,杭州市,西湖区")  # never pushed
        async with runtime.db.acquire() as conn:  # the pushes stopped an hour ago
            await conn.execute(
                """UPDATE carrier_tracking SET created_at = now() - interval '2 hours'
                   WHERE tracking_number = $1""",
                number,
            )

        await lg.tail.wait_for(of(order_id, "ShipmentDelivered"), timeout=30)
        asked = [q for q in kd.calls["query"] if number in q["param"]]
        assert len(asked) >= 4, "three failed queries, then the one that told"
