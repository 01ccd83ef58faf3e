"""Events about an order notify has not heard of wait in `awaiting_order` (shared.held) and
are handled, in the order they happened, once the order's OrderPlaced arrives; also what an
earlier version held in its own `held_events` table survives the upgrade."""

from __future__ import annotations

import asyncpg

from deploy.local.sinks import Sinks
from services.notify.app import MIGRATIONS, NAME
from shared import db
from shared.contracts.events.common import PaymentMethod
from shared.contracts.events.order import OrderCancelled
from shared.contracts.events.payment import PaymentFailed
from tests.integration.notify.support import notify, order_placed, received, shipped
from tests.support.db import rows, until_held
from tests.support.events import new_order_id, resend, wrap
from tests.support.infra import Infra


async def test_events_before_their_order_wait_in_awaiting_order_then_decide_what_it_is_told(
    infra: Infra, database: str, sinks: Sinks
) -> None:
    order_id = new_order_id()
    placed = order_placed(order_id, locale="en")
    failed = PaymentFailed(
        attempt_id=f"att_{order_id}",
        method=PaymentMethod.WALLET,
        reason="insufficient_funds",
        message="declined",
        retry_allowed=True,
    )
    cancelled = OrderCancelled(reason="customer_request", was_paid=False)
    async with notify(infra, database, sinks) as runtime:
        await resend(infra, wrap(failed, order_id), wrap(cancelled, order_id))

        assert await until_held(runtime, order_id, 2) == [
            "PaymentFailed",
            "OrderCancelled",
        ]
        assert await rows(runtime, "SELECT 1 FROM messages WHERE order_id = $1", order_id) == []

        await resend(infra, wrap(placed, order_id))
        got = await received(sinks, placed.contact, 6)
        messages = await rows(
            runtime, "SELECT template FROM messages WHERE order_id = $1 ORDER BY seq", order_id
        )
        state = await rows(runtime, "SELECT state FROM orders WHERE order_id = $1", order_id)
        timers = await rows(runtime, "SELECT state FROM timers WHERE key LIKE $1", f"{order_id}:%")
        left = await rows(runtime, "SELECT 1 FROM awaiting_order WHERE order_id = $1", order_id)
    # told in the order things happened, on both channels: placed, then failed, then cancelled
    assert [m["template"] for m in messages][::2] == [
        "order_confirmation",
        "payment_failed",
        "order_cancelled",
    ]
    assert len(got) == 6
    assert state == [{"state": "cancelled"}]
    assert timers and {t["state"] for t in timers} == {"cancelled"}, "no reminder after it"
    assert left == []


async def test_an_event_held_by_the_earlier_version_is_told_once_its_order_arrives(
    infra: Infra, database: str, sinks: Sinks
) -> None:
    order_id = new_order_id()
    placed = order_placed(order_id, locale="en")
    early = wrap(shipped(placed, order_id, "sf", "SF4711"), order_id)
    before_upgrade = [
        m
        for m in db.all_migrations(NAME, MIGRATIONS)
        if m.component != NAME or m.name != "held_events_to_awaiting_order"
    ]
    conn = await asyncpg.connect(database)
    try:
        await db.apply_migrations(conn, before_upgrade)
        await conn.execute(
            """INSERT INTO held_events (event_id, order_id, event_type, envelope, topic,
               partition, "offset", occurred_at) VALUES ($1, $2, $3, $4::jsonb, $5, 0, 42, $6)""",
            str(early.event_id),
            order_id,
            early.type,
            early.model_dump_json(),
            "shipments.v1",
            early.occurred_at,
        )
    finally:
        await conn.close()

    async with notify(infra, database, sinks) as runtime:
        moved = await rows(
            runtime, "SELECT event_type FROM awaiting_order WHERE order_id = $1", order_id
        )
        old_table = await rows(runtime, "SELECT to_regclass('held_events') AS t")
        await resend(infra, wrap(placed, order_id))
        got = await received(sinks, placed.contact, 4)
        messages = await rows(
            runtime, "SELECT template FROM messages WHERE order_id = $1 ORDER BY seq", order_id
        )
    assert moved == [{"event_type": "ShipmentShipped"}]
    assert old_table == [{"t": None}]
    assert [m["template"] for m in messages][::2] == ["order_confirmation", "shipped"]
    assert any("SF4711" in m["text"] for m in got)
