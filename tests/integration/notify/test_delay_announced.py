"""A delay operations announced: the customer is told once per channel, in their language,
why and the new date (the day the parcel leaves while it waits in the warehouse, the day it
arrives once on its way), however often the announcement is delivered."""

from __future__ import annotations

from datetime import date
from typing import Literal

from deploy.local.sinks import Sinks
from shared.contracts.events.logistics import ShipmentDelayAnnounced
from tests.integration.notify.support import notify, order_placed, received
from tests.support.db import rows, until_handled
from tests.support.events import new_id, new_order_id, resend, send, send_all
from tests.support.infra import Infra


def announced(
    order_id: str, stage: Literal["waiting", "on_its_way"], new_date: date
) -> ShipmentDelayAnnounced:
    return ShipmentDelayAnnounced(
        delay_id=new_id("dly"),
        cause="courier_problem",
        shipment_id=f"shp_{order_id}",
        courier="yto",
        stage=stage,
        previous_date=date(2030, 1, 8),
        new_expected_date=new_date,
    )


async def test_each_announced_delay_is_told_once_per_channel_in_the_customers_language(
    infra: Infra, database: str, sinks: Sinks
) -> None:
    order_id = new_order_id()
    placed = order_placed(order_id, locale="zh-CN")
    waiting = announced(order_id, "waiting", date(2030, 1, 10))
    on_its_way = announced(order_id, "on_its_way", date(2030, 1, 13))  # a later announcement
    async with notify(infra, database, sinks) as runtime:
        await send_all(infra, order_id, placed)
        envelope = await send(infra, waiting, order_id)
        await resend(infra, envelope)  # redelivered
        await resend(infra, envelope)
        await until_handled(runtime, await send(infra, on_its_way, order_id))
        got = await received(sinks, placed.contact, 6)  # confirmation, then two delays
        recorded = await rows(
            runtime,
            "SELECT source_event_id, channel, locale FROM messages"
            " WHERE order_id = $1 AND template = $2",
            order_id,
            "delay_announced",
        )
    told = sorted((r["source_event_id"] == str(envelope.event_id), r["channel"]) for r in recorded)
    assert told == [(False, "email"), (False, "sms"), (True, "email"), (True, "sms")]
    assert {r["locale"] for r in recorded} == {"zh-CN"}
    leaves = [m for m in got if "2030年1月10日" in m["text"]]
    assert {m["channel"] for m in leaves} == {"email", "sms"}
    for message in leaves:
        assert "受圆通速递的临时状况影响" in message["text"]
        assert "原定2030年1月8日" in message["text"]
    arrives = [m for m in got if "2030年1月13日" in m["text"]]
    assert {m["channel"] for m in arrives} == {"email", "sms"}
    assert all("送达" in m["text"] for m in arrives)
