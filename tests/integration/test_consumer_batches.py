"""What one poll brings is handled in one transaction, and a batch never changes an outcome:
a duplicate inside it has no second effect; a message that cannot be handled rolls the batch
back, and each message is then handled on its own (the good ones once, the bad one
dead-lettered)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from prometheus_client import REGISTRY

from services.payment.app import MIGRATIONS
from shared import db
from shared.consumer import MessageProcessor
from shared.contracts.envelope import Envelope
from shared.contracts.events.order import OrderClosed, OrderCompleted
from shared.messages import Handlers, Incoming, RawMessage
from shared.unit import Unit, Units

EFFECTS = "CREATE TABLE test_effects (order_id TEXT, event_id TEXT)"


async def record_effect(unit: Unit, msg: Incoming[Any]) -> None:
    if msg.order_id.startswith("ord_bad"):
        raise ValueError("this order cannot be handled")
    await unit.conn.execute(
        "INSERT INTO test_effects VALUES ($1, $2)", msg.order_id, str(msg.envelope.event_id)
    )


@pytest.fixture
async def pool(database: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await db.create_pool(database, size=2)
    async with pool.acquire() as conn:
        await db.apply_migrations(conn, db.all_migrations("payment", MIGRATIONS))
        await conn.execute(EFFECTS)
    try:
        yield pool
    finally:
        await pool.close()


def processor(pool: asyncpg.Pool) -> MessageProcessor:
    handlers: Handlers = {OrderClosed: record_effect}
    units = Units("payment", deps=None)
    return MessageProcessor("payment", pool, handlers, units, max_attempts=2, backoff_seconds=0.01)


def closed(order_id: str) -> Envelope:
    return Envelope.wrap(OrderClosed(), producer="order", order_id=order_id)


def raw(envelope: Envelope | bytes, offset: int) -> RawMessage:
    value = envelope if isinstance(envelope, bytes) else envelope.to_bytes()
    return RawMessage("orders.v1", 0, offset, b"k", value)


async def effects(pool: asyncpg.Pool) -> list[tuple[str, str, int]]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT order_id, event_id, xmin::text::bigint AS tx FROM test_effects"
        )
    return [(r["order_id"], r["event_id"], r["tx"]) for r in rows]


def order_ids() -> list[str]:
    return [f"ord_{uuid.uuid4().hex[:8]}" for _ in range(3)]


async def test_a_batch_commits_once_and_a_duplicate_in_it_has_no_effect(
    pool: asyncpg.Pool,
) -> None:
    first, second, third = (closed(oid) for oid in order_ids())
    batch = [raw(first, 1), raw(second, 2), raw(first, 3), raw(third, 4)]

    outcomes = await processor(pool).process_batch(batch)

    assert outcomes == ["handled", "handled", "duplicate", "handled"]
    seen = await effects(pool)
    assert sorted(event for _, event, _ in seen) == sorted(
        str(e.event_id) for e in (first, second, third)
    )
    assert len({tx for _, _, tx in seen}) == 1, "the batch was one transaction"


async def test_a_failing_message_rolls_the_batch_back_and_only_it_is_dead_lettered(
    pool: asyncpg.Pool,
) -> None:
    good, other = (closed(oid) for oid in order_ids()[:2])
    bad = closed(f"ord_bad{uuid.uuid4().hex[:6]}")
    batch = [raw(good, 1), raw(bad, 2), raw(other, 3)]

    outcomes = await processor(pool).process_batch(batch)

    assert outcomes == ["handled", "dead_lettered", "handled"]
    seen = await effects(pool)
    assert sorted(event for _, event, _ in seen) == sorted(
        [str(good.event_id), str(other.event_id)]
    )
    async with pool.acquire() as conn:
        letters = await conn.fetch("SELECT message_id, reason, attempts FROM dead_letters")
        inbox = await conn.fetch('SELECT message_id, outcome FROM inbox ORDER BY "offset"')
    assert [(r["message_id"], r["reason"], r["attempts"]) for r in letters] == [
        (str(bad.event_id), "handler_failed", 2)
    ]
    assert [r["outcome"] for r in inbox] == ["handled", "dead_lettered", "handled"]


async def test_poison_in_a_batch_is_dead_lettered_and_the_rest_handled(pool: asyncpg.Pool) -> None:
    good, other = (closed(oid) for oid in order_ids()[:2])
    batch = [raw(good, 1), raw(b"\x00 not json", 2), raw(other, 3)]

    outcomes = await processor(pool).process_batch(batch)

    assert outcomes == ["handled", "dead_lettered", "handled"]
    assert len(await effects(pool)) == 2
    async with pool.acquire() as conn:
        reasons = await conn.fetch("SELECT reason FROM dead_letters")
    assert [r["reason"] for r in reasons] == ["undecodable"]


async def test_a_batch_mixing_ignored_and_handled_events_needs_no_fallback(
    pool: asyncpg.Pool,
) -> None:
    def fallbacks() -> float:
        return REGISTRY.get_sample_value("fulfil_batch_fallbacks_total") or 0.0

    before = fallbacks()
    first, second = order_ids()[:2]
    ignored = [Envelope.wrap(OrderCompleted(confirmed_by="auto"), producer="order", order_id=o)
               for o in (first, second)]  # fmt: skip
    only_ignored = await processor(pool).process_batch([raw(e, i) for i, e in enumerate(ignored)])
    mixed = await processor(pool).process_batch([raw(ignored[0], 5), raw(closed(first), 6)])

    assert only_ignored == ["ignored", "ignored"]
    assert mixed == ["ignored", "handled"]
    assert fallbacks() == before, "neither batch was rolled back"
    assert len(await effects(pool)) == 1


def with_headers(envelope: Envelope, value: bytes, offset: int) -> RawMessage:
    """A message carrying the outbox's headers for `envelope`, with `value` as its body."""
    return RawMessage("orders.v1", 0, offset, b"k", value, tuple(envelope.headers()))


async def test_an_ignored_event_is_never_parsed_and_an_unknown_one_still_dead_lettered(
    pool: asyncpg.Pool,
) -> None:
    first, second = order_ids()[:2]
    ignored = Envelope.wrap(OrderCompleted(confirmed_by="auto"), producer="order", order_id=first)
    unknown = closed(second)
    unknown_bytes = unknown.to_bytes().replace(b'"OrderClosed"', b'"OrderVanished"')
    vanished = [(n, b"OrderVanished" if n == "type" else v) for n, v in unknown.headers()]
    good = closed(first)

    alone = await processor(pool).process(with_headers(ignored, b"\x00 never parsed", 1))
    batch = await processor(pool).process_batch(
        [
            with_headers(ignored, b"\x00 never parsed", 2),
            RawMessage("orders.v1", 0, 3, b"k", unknown_bytes, tuple(vanished)),
            with_headers(good, good.to_bytes(), 4),
        ]
    )

    assert alone == "ignored"
    assert batch == ["ignored", "dead_lettered", "handled"]
    async with pool.acquire() as conn:
        letters = await conn.fetch("SELECT message_id, reason FROM dead_letters")
        inbox = await conn.fetch('SELECT "offset", outcome FROM inbox ORDER BY "offset"')
    assert [(r["message_id"], r["reason"]) for r in letters] == [
        (str(unknown.event_id), "unknown_event_type")
    ]
    assert [(r["offset"], r["outcome"]) for r in inbox] == [(3, "dead_lettered"), (4, "handled")]
    assert [event for _, event, _ in await effects(pool)] == [str(good.event_id)]


async def test_a_batch_the_service_ignores_entirely_never_uses_the_database() -> None:
    first, second = (
        Envelope.wrap(OrderCompleted(confirmed_by="auto"), producer="order", order_id=o)
        for o in order_ids()[:2]
    )
    no_database: Any = None  # any use of the database fails
    only_ignored = processor(no_database)

    outcomes = await only_ignored.process_batch(
        [raw(first, 1), with_headers(second, b"\x00 never parsed", 2)]
    )

    assert outcomes == ["ignored", "ignored"]
