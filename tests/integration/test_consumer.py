"""The consumer loop: one effect per event; dead letters with reasons; the partition moves on."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from services.payment.app import build
from services.payment.settings import PaymentSettings
from shared.contracts.events.order import OrderClosed, OrderCompleted
from shared.messages import Handlers, Incoming
from shared.unit import Unit
from tests.support.events import new_order_id, resend, wrap
from tests.support.infra import Infra
from tests.support.kafka import TopicTail, publish_raw
from tests.support.polling import eventually
from tests.support.services import running, settings_for

EFFECTS = "CREATE TABLE IF NOT EXISTS test_effects (order_id TEXT, event_id TEXT)"


async def record_effect(unit: Unit, msg: Incoming[Any]) -> None:
    await unit.conn.execute(
        "INSERT INTO test_effects VALUES ($1, $2)", msg.order_id, str(msg.envelope.event_id)
    )


async def always_fails(unit: Unit, msg: Incoming[Any]) -> None:
    raise ValueError("this order cannot be handled")


async def payment_with(handlers: Handlers, infra: Infra, dsn: str, **overrides: Any) -> Any:
    conn = await asyncpg.connect(dsn)  # the handlers' table, made before any handler runs
    try:
        await conn.execute(EFFECTS)
    finally:
        await conn.close()
    definition = build(settings_for(PaymentSettings, infra.bootstrap, dsn, **overrides))
    definition.handlers = handlers
    return definition


async def effects(runtime: Any, order_id: str) -> list[str]:
    async with runtime.db.acquire() as conn:
        rows = await conn.fetch("SELECT event_id FROM test_effects WHERE order_id = $1", order_id)
    return [r["event_id"] for r in rows]


async def test_the_same_event_delivered_twice_has_one_effect(infra: Infra, database: str) -> None:
    order_id = new_order_id()
    handlers = {OrderClosed: record_effect, OrderCompleted: record_effect}
    definition = await payment_with(handlers, infra, database)
    async with running(definition, http=False) as runtime:
        envelope = wrap(OrderClosed(), order_id)
        await resend(infra, envelope)
        await resend(infra, envelope)
        marker = wrap(OrderCompleted(confirmed_by="auto"), order_id)
        await resend(infra, marker)

        async def both_seen() -> list[str]:
            seen = await effects(runtime, order_id)
            return seen if str(marker.event_id) in seen else []

        seen = await eventually(both_seen, what="the marker after the duplicate")
    assert seen.count(str(envelope.event_id)) == 1
    assert len(seen) == 2


async def test_poison_goes_to_the_dead_letter_topic_and_the_partition_moves_on(
    infra: Infra, database: str, tail: TopicTail
) -> None:
    order_id = new_order_id()
    key = order_id.encode()
    definition = await payment_with({OrderClosed: record_effect}, infra, database)
    async with running(definition, http=False) as runtime:
        await publish_raw(infra.bootstrap, "orders.v1", b"\x00\xffnot json at all", key=key)
        unknown = wrap(OrderClosed(), order_id)
        unknown_bytes = unknown.to_bytes().replace(b'"OrderClosed"', b'"OrderVanished"')
        await publish_raw(infra.bootstrap, "orders.v1", unknown_bytes, key=key)
        future = unknown.to_bytes().replace(b'"schema_version":1', b'"schema_version":9')
        await publish_raw(
            infra.bootstrap,
            "orders.v1",
            future.replace(str(unknown.event_id).encode(), str(uuid.uuid4()).encode()),
            key=key,
        )
        good = wrap(OrderClosed(), order_id)
        await resend(infra, good)

        handled = await eventually(lambda: effects(runtime, order_id), what="the good message")
        letters = await tail.wait_for(
            lambda r: r.topic == "deadletter.payment.v1" and r.key == key, count=3
        )
        async with runtime.db.acquire() as conn:
            rows = await conn.fetch("SELECT reason, error, attempts FROM dead_letters ORDER BY id")
    assert handled == [str(good.event_id)], "the good message after the poison was handled"
    by_reason = {r.headers["dlq.reason"].decode(): r for r in letters}
    assert set(by_reason) == {"undecodable", "unknown_event_type", "unsupported_schema_version"}
    garbage = by_reason["undecodable"]
    assert garbage.value == b"\x00\xffnot json at all", "the original bytes are kept"
    assert garbage.headers["dlq.consumer"] == b"payment"
    assert garbage.headers["dlq.original_topic"] == b"orders.v1"
    assert "OrderVanished" in by_reason["unknown_event_type"].headers["dlq.error"].decode()
    assert "v9" in by_reason["unsupported_schema_version"].headers["dlq.error"].decode()
    assert {r["reason"] for r in rows} >= {"undecodable", "unknown_event_type"}


async def test_a_handler_that_keeps_failing_is_dead_lettered_after_its_attempts(
    infra: Infra, database: str, tail: TopicTail
) -> None:
    order_id = new_order_id()
    handlers = {OrderClosed: always_fails, OrderCompleted: record_effect}
    definition = await payment_with(handlers, infra, database, consumer_max_attempts=3)
    async with running(definition, http=False) as runtime:
        bad = wrap(OrderClosed(), order_id)
        await resend(infra, bad)
        after = wrap(OrderCompleted(confirmed_by="auto"), order_id)
        await resend(infra, after)
        [letter] = await tail.wait_for(
            lambda r: r.topic == "deadletter.payment.v1" and r.key == order_id.encode()
        )
        assert await eventually(lambda: effects(runtime, order_id)) == [str(after.event_id)]
    assert letter.headers["dlq.reason"] == b"handler_failed"
    assert letter.headers["dlq.attempts"] == b"3"
    assert b"this order cannot be handled" in letter.headers["dlq.error"]
    assert letter.value == bad.to_bytes()
    assert letter.headers["event_id"] == str(bad.event_id).encode()
