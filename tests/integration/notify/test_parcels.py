"""An order that ships as two parcels: the customer hears of each parcel's shipping and
delivery, once each, in their language and naming the parcel ("1 of 2", "2 of 2"); an
order that ships whole is told as it always was."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

from deploy.local.sinks import Sinks
from shared.contracts.events import logistics as lg
from shared.contracts.events.order import OrderPlaced
from tests.integration.notify.support import notify, order_placed, paid, received
from tests.support.db import rows
from tests.support.events import new_order_id, resend, wrap
from tests.support.infra import Infra
from tests.support.polling import eventually


def shipped(placed: OrderPlaced, shipment: str, parcel: lg.ParcelNumber) -> lg.ShipmentShipped:
    return lg.ShipmentShipped(
        shipment_id=shipment,
        courier="sf",
        tracking_number=f"SF-{shipment}",
        lines=placed.lines,
        address=placed.address,
        shipped_at=datetime.now(UTC),
        parcel=parcel,
    )


def delivered(shipment: str, parcel: lg.ParcelNumber) -> lg.ShipmentDelivered:
    return lg.ShipmentDelivered(
        shipment_id=shipment,
        courier="sf",
        tracking_number=f"SF-{shipment}",
        delivered_at=datetime.now(UTC),
        city="上海市",
        parcel=parcel,
    )


async def all_sent(runtime: Any, order_id: str, count: int) -> list[dict[str, Any]]:
    async def probe() -> list[dict[str, Any]]:
        found = await rows(
            runtime,
            "SELECT template, channel, status, subject, body_text FROM messages"
            " WHERE order_id = $1 ORDER BY created_at",
            order_id,
        )
        done = len(found) >= count and all(m["status"] == "sent" for m in found)
        return found if done else []

    return await eventually(probe, what=f"{count} messages marked sent")


async def told(
    sinks: Sinks, runtime: Any, placed: OrderPlaced, order_id: str, count: int
) -> tuple[Counter[str], list[dict[str, Any]]]:
    """Once `count` messages reached the customer and are marked sent: how many of each
    template, and the messages."""
    await received(sinks, placed.contact, count)
    recorded = await all_sent(runtime, order_id, count)
    return Counter(m["template"] for m in recorded), recorded


async def test_each_parcel_is_told_once_in_the_customers_language(
    infra: Infra, database: str, sinks: Sinks
) -> None:
    order_id = new_order_id()
    placed = order_placed(order_id, locale="zh-CN")
    first, second = f"shp_{order_id}_1", f"shp_{order_id}_2"
    one, two = lg.ParcelNumber(number=1, of=2), lg.ParcelNumber(number=2, of=2)
    first_shipped = wrap(shipped(placed, first, one), order_id)
    async with notify(infra, database, sinks) as runtime:
        await resend(infra, wrap(placed, order_id), wrap(paid(), order_id), first_shipped)
        await resend(
            infra,
            first_shipped,  # redelivered
            wrap(shipped(placed, first, one), order_id),  # told again under another id
            wrap(shipped(placed, second, two), order_id),
            wrap(delivered(second, two), order_id),
            wrap(delivered(first, one), order_id),
            wrap(delivered(second, two), order_id),  # a repeat
        )
        # confirmation, payment, two shipped, two delivered: each by email and SMS
        templates, recorded = await told(sinks, runtime, placed, order_id, 12)
    assert templates == {
        "order_confirmation": 2,
        "payment_received": 2,
        "shipped": 4,
        "delivered": 4,
    }
    subjects = sorted(
        m["subject"] for m in recorded if m["template"] == "shipped" and m["channel"] == "email"
    )
    assert subjects == [
        f"您的订单 {order_id} 已发货（第 1 个包裹，共 2 个）",  # noqa: RUF001
        f"您的订单 {order_id} 已发货（第 2 个包裹，共 2 个）",  # noqa: RUF001
    ]
    sms = [m["body_text"] for m in recorded if m["template"] == "delivered"]
    assert sum("第 1 个包裹，共 2 个" in text for text in sms) == 2  # noqa: RUF001
    assert sum("第 2 个包裹，共 2 个" in text for text in sms) == 2  # noqa: RUF001


async def test_an_order_shipping_whole_is_told_as_before(
    infra: Infra, database: str, sinks: Sinks
) -> None:
    order_id = new_order_id()
    placed = order_placed(order_id, locale="en")
    whole = lg.ParcelNumber(number=1, of=1)
    async with notify(infra, database, sinks) as runtime:
        await resend(
            infra,
            wrap(placed, order_id),
            wrap(shipped(placed, f"shp_{order_id}", whole), order_id),
            wrap(delivered(f"shp_{order_id}", whole), order_id),
        )
        await received(sinks, placed.contact, 6)
        recorded = await all_sent(runtime, order_id, 6)
    emails = {m["template"]: m for m in recorded if m["channel"] == "email"}
    assert emails["shipped"]["subject"] == f"Your order {order_id} is on its way"
    assert emails["delivered"]["subject"] == f"Your order {order_id} has been delivered"
    assert not any("parcel 1 of" in m["body_text"] for m in recorded)


def announced(shipment: str, delay_id: str, new_date: date) -> lg.ShipmentDelayAnnounced:
    return lg.ShipmentDelayAnnounced(
        delay_id=delay_id,
        cause="peak",
        shipment_id=shipment,
        courier="sf",
        stage="waiting",
        previous_date=new_date - timedelta(days=2),
        new_expected_date=new_date,
    )


def late(shipment: str, new_date: date) -> lg.ShipmentDelayed:
    return lg.ShipmentDelayed(
        reason="not_shipped_by_promise",
        shipment_id=shipment,
        previous_date=new_date - timedelta(days=1),
        new_expected_date=new_date,
    )


async def test_a_delay_of_both_parcels_is_told_once_and_a_later_one_again(
    infra: Infra, database: str, sinks: Sinks
) -> None:
    """The same announcement, or the same missed promise, told of each parcel is one
    message for the order; a second miss to a later day is news."""
    order_id = new_order_id()
    placed = order_placed(order_id, locale="en")
    first, second = f"shp_{order_id}_1", f"shp_{order_id}_2"
    day = datetime.now(UTC).date() + timedelta(days=3)
    async with notify(infra, database, sinks) as runtime:
        await resend(
            infra,
            wrap(placed, order_id),
            wrap(announced(first, "peak-1", day), order_id),
            wrap(announced(second, "peak-1", day), order_id),
            wrap(late(first, day), order_id),
            wrap(late(second, day), order_id),
            wrap(late(first, day + timedelta(days=1)), order_id),
            wrap(late(second, day + timedelta(days=1)), order_id),
            # last on the order's partition: once it is told, all before it were handled
            wrap(delivered(first, lg.ParcelNumber(number=1, of=2)), order_id),
        )
        # confirmation, one announcement, two misses (two days), the marker: email and SMS
        templates, _ = await told(sinks, runtime, placed, order_id, 10)
    assert templates == {
        "order_confirmation": 2,
        "delay_announced": 2,
        "shipment_delayed": 4,
        "delivered": 2,
    }
