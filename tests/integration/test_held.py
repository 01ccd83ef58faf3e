"""Events about an order not known yet wait for it, then run in the order they happened."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from shared import db, held
from shared.contracts.envelope import Envelope, Event
from shared.contracts.events.order import OrderClosed, OrderCompleted
from shared.messages import Handlers, Incoming, RawMessage
from shared.unit import Unit, Units
from tests.support.polling import eventually

NO_SERVICE_MIGRATIONS = Path(__file__).parent / "no-migrations"


@pytest.fixture
async def pool(database: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await db.create_pool(database, size=2)
    async with pool.acquire() as conn:
        await db.apply_migrations(conn, db.all_migrations("probe", NO_SERVICE_MIGRATIONS))
    try:
        yield pool
    finally:
        await pool.close()


def incoming(event: Event, order_id: str, at: datetime, offset: int) -> Incoming[Any]:
    envelope = Envelope.wrap(event, producer="order", order_id=order_id, occurred_at=at)
    return Incoming(envelope, event, RawMessage("orders.v1", 0, offset, None, None))


async def unknown(_conn: asyncpg.Connection, _order_id: str) -> None:
    return None


ORDERS = "CREATE TABLE IF NOT EXISTS test_orders (order_id TEXT PRIMARY KEY)"


async def load_locked(conn: asyncpg.Connection, order_id: str) -> str | None:
    """A service's load: the order's row, locked for the transaction."""
    found = await conn.fetchval(
        "SELECT order_id FROM test_orders WHERE order_id = $1 FOR UPDATE", order_id
    )
    return str(found) if found is not None else None


async def advisory_locks(conn: asyncpg.Connection, *, granted: bool) -> int:
    return int(
        await conn.fetchval(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted = $1"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            granted,
        )
    )


async def test_held_events_run_when_the_order_is_known_oldest_first_and_only_once(
    pool: asyncpg.Pool,
) -> None:
    order_id, units = f"ord_{uuid.uuid4().hex[:8]}", Units("probe", deps=None)
    t0 = datetime(2026, 12, 1, 10, tzinfo=UTC)
    later = incoming(
        OrderCompleted(confirmed_by="auto"), order_id, t0 + timedelta(minutes=5), offset=7
    )
    earlier = incoming(OrderClosed(), order_id, t0, offset=9)  # read second, happened first
    for msg in (later, earlier, later):  # the first one again: a redelivery
        async with units.begin(pool) as unit:
            assert await held.known_or_held(unit, msg, unknown) is None
    seen: list[str] = []

    async def record(_unit: Unit[Any], msg: Incoming[Any]) -> None:
        seen.append(msg.envelope.type)

    handlers: Handlers = {OrderClosed: record, OrderCompleted: record}
    async with units.begin(pool) as unit:
        assert await held.release(unit, order_id, handlers) == 2
    assert seen == ["OrderClosed", "OrderCompleted"]
    async with units.begin(pool) as unit:
        assert await held.release(unit, order_id, handlers) == 0
    assert seen == ["OrderClosed", "OrderCompleted"]


async def test_an_event_held_past_the_retention_is_dropped_and_a_recent_one_kept(
    pool: asyncpg.Pool,
) -> None:
    units = Units("probe", deps=None)
    stale, recent = f"ord_{uuid.uuid4().hex[:8]}", f"ord_{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    async with units.begin(pool) as unit:
        await held.hold(unit.conn, incoming(OrderClosed(), stale, now, offset=1))
        await held.hold(unit.conn, incoming(OrderClosed(), recent, now, offset=2))
        await unit.conn.execute(
            "UPDATE awaiting_order SET received_at = now() - interval '8 days' WHERE order_id = $1",
            stale,
        )
    async with pool.acquire() as conn:
        assert await held.count(conn) == 2
        assert await held.purge(conn, older_than_days=7) == 1
        assert await held.count(conn) == 1
        left = await conn.fetchval("SELECT order_id FROM awaiting_order")
    assert left == recent


async def test_a_held_event_no_longer_readable_is_dropped_and_the_others_still_run(
    pool: asyncpg.Pool,
) -> None:
    """An upgrade may retire the model an event was held under: placing the order must still
    go through, with the events that can be read."""
    order_id, units = f"ord_{uuid.uuid4().hex[:8]}", Units("probe", deps=None)
    now = datetime.now(UTC)
    async with units.begin(pool) as unit:
        await held.hold(unit.conn, incoming(OrderClosed(), order_id, now, offset=1))
        await held.hold(unit.conn, incoming(OrderClosed(), order_id, now, offset=2))
        await unit.conn.execute(
            """UPDATE awaiting_order SET envelope = jsonb_set(envelope, '{type}', '"OrderVanished"')
               WHERE order_id = $1 AND "offset" = 1""",
            order_id,
        )
    seen: list[int] = []

    async def record(_unit: Unit[Any], msg: Incoming[Any]) -> None:
        seen.append(msg.raw.offset)

    async with units.begin(pool) as unit:
        assert await held.release(unit, order_id, {OrderClosed: record}) == 2
    assert seen == [2]
    async with pool.acquire() as conn:
        assert await held.count(conn) == 0


async def test_a_known_order_is_returned_without_taking_the_order_lock(pool: asyncpg.Pool) -> None:
    order_id, units = f"ord_{uuid.uuid4().hex[:8]}", Units("probe", deps=None)
    msg = incoming(OrderClosed(), order_id, datetime.now(UTC), offset=1)
    async with pool.acquire() as conn:
        await conn.execute(ORDERS)
        await conn.execute("INSERT INTO test_orders VALUES ($1)", order_id)

    async with units.begin(pool) as unit:
        assert await held.known_or_held(unit, msg, load_locked) == order_id
        locks = await advisory_locks(unit.conn, granted=True)

    assert locks == 0
    async with pool.acquire() as conn:
        assert await held.count(conn) == 0


async def test_an_order_introduced_while_waiting_for_the_lock_is_found_and_nothing_held(
    pool: asyncpg.Pool,
) -> None:
    """The event's first look misses an introduction still in flight; it waits for the
    introduction's lock, looks again once that committed, and finds the order."""
    order_id, units = f"ord_{uuid.uuid4().hex[:8]}", Units("probe", deps=None)
    msg = incoming(OrderClosed(), order_id, datetime.now(UTC), offset=1)
    async with pool.acquire() as conn:
        await conn.execute(ORDERS)
    introducing = await pool.acquire()
    try:
        introduction = introducing.transaction()
        await introduction.start()
        await introducing.execute("INSERT INTO test_orders VALUES ($1)", order_id)
        await held.lock(introducing, order_id)  # as `release` does, before committing

        async def event() -> str | None:
            async with units.begin(pool) as unit:
                return await held.known_or_held(unit, msg, load_locked)

        waiting = asyncio.ensure_future(event())
        await eventually(
            lambda: advisory_locks(introducing, granted=False), what="the event waiting"
        )
        await introduction.commit()
        found = await asyncio.wait_for(waiting, 20)
    finally:
        await pool.release(introducing)

    assert found == order_id
    async with pool.acquire() as conn:
        assert await held.count(conn) == 0
