"""The parcel's steps told to the customer: arrived in the city, out for delivery, a failed
attempt, delivered; each once per parcel whatever redelivers or reorders it; none at night
but delivered, which goes at once."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

from deploy.local.sinks import Sinks
from shared.contracts.envelope import Event
from shared.contracts.events import logistics as lg
from shared.contracts.events.order import OrderPlaced
from tests.integration.notify.support import notify, order_placed, received
from tests.support.db import rows
from tests.support.events import new_order_id, resend, wrap
from tests.support.infra import Infra
from tests.support.polling import eventually

STEPS = ("arrived_in_city", "out_for_delivery", "delivery_failed", "delivered")


def parcel(order_id: str) -> dict[str, str]:
    return {"shipment_id": f"shp_{order_id}", "courier": "sf", "tracking_number": "SF88"}


def checkpoint(order_id: str, status: str, description: str) -> lg.CheckpointReached:
    return lg.CheckpointReached(
        **parcel(order_id), checkpoint_at=datetime.now(UTC), city="杭州市", status=status,
        description=description,
    )  # fmt: skip


def out(order_id: str) -> lg.ShipmentWentOutForDelivery:
    return lg.ShipmentWentOutForDelivery(
        **parcel(order_id), checkpoint_at=datetime.now(UTC), city="杭州市"
    )


def delivered(order_id: str) -> lg.ShipmentDelivered:
    return lg.ShipmentDelivered(**parcel(order_id), delivered_at=datetime.now(UTC), city="杭州市")


def sentinel() -> lg.ShipmentDelayed:
    """Told after whatever came before it on the shipments topic for the order."""
    return lg.ShipmentDelayed(
        reason="no_checkpoint", previous_date=date(2030, 1, 1), new_expected_date=date(2030, 1, 2)
    )


async def messages(runtime: Any, order_id: str) -> list[dict[str, Any]]:
    return await rows(
        runtime,
        "SELECT template, channel, status, send_after, subject, body_text FROM messages"
        " WHERE order_id = $1 ORDER BY created_at",
        order_id,
    )


async def test_each_step_is_told_once_however_often_and_late_it_is_reported(
    infra: Infra, database: str, sinks: Sinks
) -> None:
    order_id = new_order_id()
    placed = order_placed(order_id, locale="zh-CN")
    arrived = checkpoint(order_id, "arrived_in_city", "快件已到达杭州转运中心")
    events: list[Event] = [
        checkpoint(order_id, "in_transit", "运输中"),  # joins the timeline, told to nobody
        arrived,
        arrived,  # the carrier pushed it twice: another event, the same checkpoint
        out(order_id),
        checkpoint(order_id, "failed_attempt", "电话无人接听"),
        checkpoint(order_id, "failed_attempt", "电话无人接听"),
        delivered(order_id),
        arrived,  # late, after delivery
        out(order_id),  # out of order
    ]
    async with notify(infra, database, sinks) as runtime:
        again = wrap(checkpoint(order_id, "failed_attempt", "客户不在"), order_id)
        await resend(infra, wrap(placed, order_id))
        await resend(infra, *(wrap(e, order_id) for e in events), again, again)
        await resend(infra, wrap(sentinel(), order_id))
        await received(sinks, placed.contact, 12)  # confirmation, four steps, the sentinel

        async def all_sent() -> list[dict[str, Any]]:
            found = await messages(runtime, order_id)
            return found if all(m["status"] == "sent" for m in found) else []

        recorded = await eventually(all_sent, what="every message marked sent")
    told = Counter(m["template"] for m in recorded)
    assert told == {
        "order_confirmation": 2,
        **dict.fromkeys(STEPS, 2),  # one email and one SMS each
        "shipment_delayed": 2,
    }
    subjects = {m["template"]: m["subject"] for m in recorded if m["channel"] == "email"}
    assert subjects["arrived_in_city"] == f"您订单 {order_id} 的包裹已到达杭州市"
    assert subjects["delivery_failed"] == f"您订单 {order_id} 的包裹暂未送达"
    sms = {m["template"]: m["body_text"] for m in recorded if m["channel"] == "sms"}
    assert "顺丰速运" in sms["delivery_failed"] and "将再次派送" in sms["delivery_failed"]
    assert "回TD退订" in sms["arrived_in_city"], "news the customer may opt out of"
    assert "退订" not in sms["delivered"], "proof of delivery always goes"
    assert len(sinks.store.messages(to=placed.contact.phone)) == 6


async def test_at_night_the_steps_wait_for_the_morning_but_delivered_goes_at_once(
    infra: Infra, database: str, sinks: Sinks
) -> None:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    start, end = (now - timedelta(hours=1)).time(), (now + timedelta(hours=1)).time()
    morning = datetime.combine(now.date(), end, tzinfo=UTC)
    if morning <= now:
        morning += timedelta(days=1)
    waiting, handed = new_order_id(), new_order_id()
    orders: dict[str, OrderPlaced] = {
        o: order_placed(o, time_zone="UTC", due_in=86400) for o in (waiting, handed)
    }
    async with notify(
        infra, database, sinks, quiet_hours_start=start.isoformat(), quiet_hours_end=end.isoformat()
    ) as runtime:
        await resend(infra, *(wrap(p, o) for o, p in orders.items()))
        await resend(
            infra,
            wrap(checkpoint(waiting, "arrived_in_city", "arrived at the Hangzhou hub"), waiting),
            wrap(out(waiting), waiting),
            wrap(out(handed), handed),
            wrap(delivered(handed), handed),
        )
        # the handed-over parcel is told at once: its confirmation and delivery, two channels
        got = await received(sinks, orders[handed].contact, 4)

        async def waiting_recorded() -> list[dict[str, Any]]:
            found = await messages(runtime, waiting)
            return found if len(found) == 6 else []

        held = await eventually(waiting_recorded, what="the night's steps recorded")

        async def handed_sent() -> list[dict[str, Any]]:  # the sink has it before it is marked
            found = await messages(runtime, handed)
            return (
                found
                if any(m["status"] == "sent" for m in found if m["template"] == "delivered")
                else []
            )

        handed_recorded = await eventually(handed_sent, what="the delivery marked sent")
    assert f"Your order {handed} has been delivered" in {m.get("subject") for m in got}
    steps = [m for m in held if m["template"] != "order_confirmation"]
    # the morning tells the latest step only: "arrived in your city" is stale once it is out
    assert {(m["template"], m["status"]) for m in steps} == {
        ("arrived_in_city", "cancelled"),
        ("out_for_delivery", "pending"),
    }
    assert {m["send_after"] for m in steps} == {morning}, "held for the morning"
    by_template = {(m["template"], m["status"]) for m in handed_recorded}
    assert ("delivered", "sent") in by_template
    # going out was overtaken by the delivery: the morning does not tell it after the fact
    assert ("out_for_delivery", "cancelled") in by_template
    assert ("out_for_delivery", "pending") not in by_template
    assert [m["subject"] for m in sinks.store.messages(to=orders[waiting].contact.email)] == [
        f"Order {waiting} confirmed - thank you, Li Wei!"
    ]
