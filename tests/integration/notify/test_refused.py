"""A parcel refused at the door: the customer hears once, on each channel, in their language,
that it goes back and nothing is charged, however often the refusal is delivered."""

from __future__ import annotations

from collections import Counter

from deploy.local.sinks import Sinks
from shared.contracts.events.order import OrderRefused
from tests.integration.notify.support import notify, order_placed, received, shipped
from tests.support.db import rows, until_handled
from tests.support.events import new_order_id, resend, wrap
from tests.support.infra import Infra


async def test_a_refused_parcel_is_told_once_per_channel_in_the_customers_language(
    infra: Infra, database: str, sinks: Sinks
) -> None:
    order_id = new_order_id()
    placed = order_placed(order_id, locale="zh-CN")
    refused = wrap(OrderRefused(reason="undeliverable", was_paid=False), order_id)
    told_again = wrap(OrderRefused(reason="undeliverable", was_paid=False), order_id)
    envelopes = [wrap(placed, order_id), wrap(shipped(placed, order_id), order_id), refused]
    async with notify(infra, database, sinks) as runtime:
        await resend(infra, *envelopes, refused, told_again)  # redelivered, and told twice
        got = await received(sinks, placed.contact, 6)
        await until_handled(runtime, *envelopes, told_again)
        messages = await rows(
            runtime, "SELECT template, channel FROM messages WHERE order_id = $1", order_id
        )
        state = await rows(runtime, "SELECT state FROM orders WHERE order_id = $1", order_id)

    refusals = [m for m in messages if m["template"] == "delivery_refused"]
    assert Counter(m["channel"] for m in refusals) == {"email": 1, "sms": 1}
    assert state == [{"state": "refused"}]
    [email] = [m for m in got if m["channel"] == "email" and "正在退回" in m["subject"]]
    [sms] = [m for m in got if m["channel"] == "sms" and "退回给我们" in m["text"]]
    assert email["subject"] == f"订单 {order_id} 的包裹正在退回"
    for text in (email["text"], sms["text"]):
        assert "多次" in text and "收取任何款项" in text and "期待再次为您服务" in text
        assert f"token=t-{order_id}" in text, "a link to the order"
