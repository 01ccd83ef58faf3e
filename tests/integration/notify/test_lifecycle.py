"""An order's life yields its messages in the SMTP and SMS sinks, in its language, once each,
also when events are redelivered, arrive before their order, or the topics are replayed."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import asyncpg
from aiokafka import TopicPartition

from deploy.local.sinks import Sinks
from shared.contracts.envelope import Event, Money
from shared.contracts.events.common import PaymentMethod
from shared.contracts.events.logistics import (
    ShipmentDelivered,
    ShipmentShipped,
    ShipmentWentOutForDelivery,
)
from shared.contracts.events.order import OrderCompleted, OrderPaid, OrderPlaced
from tests.integration.notify.support import end_offsets, notify, order_placed, received
from tests.support.db import rows, until_held
from tests.support.events import new_order_id, published, resend, send, wrap
from tests.support.http import SHOP, client
from tests.support.infra import Infra
from tests.support.kafka import TopicTail
from tests.support.polling import eventually
from tests.support.services import new_group

NOW = datetime.now(UTC)


def life_after_placing(placed_order: OrderPlaced, order_id: str) -> list[Event]:
    lines = placed_order.lines
    address = placed_order.address
    parcel = {"shipment_id": f"shp_{order_id}", "courier": "SF Express", "tracking_number": "SF77"}
    return [
        OrderPaid(
            amount=Money(amount=7900, currency="CNY"),
            payment_method=PaymentMethod.WALLET,
            paid_at=NOW,
        ),
        ShipmentShipped(**parcel, lines=lines, address=address, shipped_at=NOW),
        ShipmentWentOutForDelivery(**parcel, checkpoint_at=NOW, city="Taipei"),
        ShipmentDelivered(**parcel, delivered_at=NOW, city="Taipei"),
        OrderCompleted(confirmed_by="customer"),
    ]


async def test_an_order_life_is_told_once_per_step_and_channel_even_after_a_replay(
    infra: Infra, database: str, sinks: Sinks, tail: TopicTail
) -> None:
    order_id = new_order_id()
    placed = order_placed(order_id, locale="zh-TW")
    envelopes = [wrap(placed, order_id)] + [
        wrap(e, order_id) for e in life_after_placing(placed, order_id)
    ]
    before = await end_offsets(infra.bootstrap)
    group = await new_group(infra.bootstrap, "notify", before)
    async with notify(infra, database, sinks, group=group) as runtime:
        await resend(infra, envelopes[0], envelopes[1], envelopes[2], envelopes[2])  # redelivery
        await resend(infra, *envelopes[3:], envelopes[0])
        got = await received(sinks, placed.contact, 12)
        sent = await published(tail, order_id, "NotificationSent", count=12)
        async with client(runtime) as http:
            listing = await http.get(f"/v1/orders/{order_id}/messages", headers=SHOP)
    assert len(got) == 12, "six steps, two channels, nothing twice"
    emails = [m for m in got if m["channel"] == "email"]
    subjects = {m["subject"] for m in emails}
    assert f"訂單 {order_id} 已確認，感謝您的訂購！" in subjects  # noqa: RUF001
    assert f"您的訂單 {order_id} 已出貨" in subjects
    shipped_sms = next(
        m for m in got if m["channel"] == "sms" and "已由SF Express寄出" in m["text"]
    )
    assert "Cotton T-shirt（Red / M）" in shipped_sms["text"]  # noqa: RUF001
    assert "SF77" in shipped_sms["text"]
    assert f"token=t-{order_id}" in shipped_sms["text"]
    assert "88 Century Avenue" not in shipped_sms["text"], "the address is masked"
    assert all(m["html"] and "<html" in m["html"] for m in emails)
    events = [r.json()["payload"] for r in sent]
    assert Counter((e["template"], e["channel"]) for e in events) == Counter(
        {
            (t, c): 1
            for t in (
                "order_confirmation",
                "payment_received",
                "shipped",
                "out_for_delivery",
                "delivered",
                "order_completed",
            )
            for c in ("email", "sms")
        }
    )
    assert all(e["locale"] == "zh-TW" for e in events)
    assert listing.status_code == 200
    listed = listing.json()["messages"]
    assert len(listed) == 12 and {m["status"] for m in listed} == {"sent"}
    assert all("***" in m["recipient"] for m in listed), "support sees masked recipients"

    # Replay the order's partitions from before its first event, with the inbox forgotten
    # (as after its retention): the messages table alone must keep anything from going twice.
    ids = {str(e.event_id) for e in envelopes}
    conn = await asyncpg.connect(database)
    try:
        await conn.execute("DELETE FROM inbox")
    finally:
        await conn.close()
    order_partitions = {
        TopicPartition(r.topic, r.partition) for r in tail.records if r.key == order_id.encode()
    }
    replay_from = {
        tp: before[tp] if tp in order_partitions else end
        for tp, end in (await end_offsets(infra.bootstrap)).items()
    }
    group = await new_group(infra.bootstrap, "notify", replay_from)
    async with notify(infra, database, sinks, group=group) as again:

        async def replayed() -> bool:
            seen = await rows(again, "SELECT message_id FROM inbox")
            return ids <= {r["message_id"] for r in seen}

        await eventually(replayed, what="every event of the order replayed", timeout=45)
        messages = await rows(again, "SELECT status FROM messages WHERE order_id = $1", order_id)
        letters = await rows(
            again, "SELECT reason FROM dead_letters WHERE message_id = ANY($1::text[])", list(ids)
        )
    assert len(messages) == 12 and {m["status"] for m in messages} == {"sent"}
    assert len(sinks.store.messages(to=placed.contact.email)) == 6
    assert len(sinks.store.messages(to=placed.contact.phone)) == 6
    assert sinks.store.duplicates == 0, "nothing was even offered twice"
    await tail.poll()
    resent = [
        r for r in tail.records if r.key == order_id.encode() and r.type == "NotificationSent"
    ]
    assert len(resent) == 12
    assert letters == []


async def test_events_before_their_order_are_held_then_told_in_order_never_dead_lettered(
    infra: Infra, database: str, sinks: Sinks, tail: TopicTail
) -> None:

    order_id = new_order_id()
    placed = order_placed(order_id, locale="en", due_in=20)
    paid, shipped = life_after_placing(placed, order_id)[:2]
    async with notify(infra, database, sinks, reminder_offsets_seconds=[2.0]) as runtime:
        early_pay = wrap(paid, order_id)
        early_ship = wrap(shipped, order_id)
        await resend(infra, early_pay, early_ship, early_ship)

        await until_held(runtime, order_id, 2)
        await send(infra, placed, order_id)
        got = await received(sinks, placed.contact, 6)
        messages = await rows(
            runtime, "SELECT template FROM messages WHERE order_id = $1 ORDER BY seq", order_id
        )
        left = await rows(runtime, "SELECT 1 FROM awaiting_order WHERE order_id = $1", order_id)
        letters = await rows(
            runtime,
            "SELECT reason FROM dead_letters WHERE message_id = ANY($1::text[])",
            [str(early_pay.event_id), str(early_ship.event_id)],
        )
        timers = await rows(runtime, "SELECT state FROM timers WHERE key LIKE $1", f"{order_id}:%")
    assert [m["template"] for m in messages][::2] == [
        "order_confirmation",
        "payment_received",
        "shipped",
    ]
    assert len(got) == 6
    assert left == [] and letters == []
    assert {t["state"] for t in timers} == {"cancelled"}, "a paid order is never reminded"
