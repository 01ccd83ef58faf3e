"""A courier chosen at checkout that logistics replaced: the customer is told once per
channel, in their language, which courier brings the parcel, why, and that the surcharge
comes back; the shipped message then names the courier the parcel really goes with."""

from __future__ import annotations

from deploy.local.sinks import Sinks
from shared.contracts.envelope import Money
from shared.contracts.events.logistics import CourierSubstituted
from tests.integration.notify.support import notify, order_placed, received, shipped
from tests.support.db import rows, until_handled
from tests.support.events import new_order_id, resend, send, send_all
from tests.support.infra import Infra


async def test_the_courier_change_is_told_once_per_channel_in_the_customers_language(
    infra: Infra, database: str, sinks: Sinks
) -> None:
    order_id = new_order_id()
    placed = order_placed(order_id, locale="zh-TW").model_copy(
        update={"courier": "sf", "courier_fee": Money(amount=1_500, currency="CNY")}
    )
    substituted = CourierSubstituted(
        shipment_id=f"shp_{order_id}",
        requested="sf",
        courier="zto",
        reason="not_serving_region",
        courier_fee=Money(amount=1_500, currency="CNY"),
    )
    async with notify(infra, database, sinks) as runtime:
        await send_all(infra, order_id, placed)
        envelope = await send(infra, substituted, order_id)
        await resend(infra, envelope)  # redelivered
        parcel = shipped(placed, order_id, "zto", "ZT42")
        await until_handled(runtime, await send(infra, parcel, order_id))
        got = await received(sinks, placed.contact, 6)  # confirmation, change, shipped
        recorded = await rows(
            runtime,
            "SELECT channel, locale FROM messages WHERE order_id = $1 AND template = $2",
            order_id,
            "courier_changed",
        )
    assert sorted((r["channel"], r["locale"]) for r in recorded) == [
        ("email", "zh-TW"),
        ("sms", "zh-TW"),
    ]
    changed = [m for m in got if "改由中通快遞配送" in m["text"]]
    assert {m["channel"] for m in changed} == {"email", "sms"}
    for message in changed:
        assert "順豐速運目前不配送您所在的地區" in message["text"]
        assert "¥15.00" in message["text"] and "退還" in message["text"]
    told_shipped = [m for m in got if "ZT42" in m["text"]]
    assert told_shipped and all("中通快遞" in m["text"] for m in told_shipped)
