"""The one rule for events about an order a service does not know (yet).

Kafka keeps order within a partition, not across topics: a service can read an event
about an order (a refund approved, a parcel shipped) before the event that introduces the
order to it (OrderPlaced, on another topic). Every service applies the same rule:

- a handler that needs the order calls `known_or_held`; while the order is unknown the
  event is held in `awaiting_order`, in the handling transaction (so it is recorded
  exactly once with the inbox entry), and the handler does nothing more;
- the handler that introduces the order calls `release` in its transaction: the held
  events are handled there, in the order they happened, by the service's own handlers;
- both take the same per-order advisory lock, so an event being held cannot slip past
  the introduction committing in parallel (`known_or_held` takes it only when the order
  is not found, and then looks again);
- an event held past the retention (an order this deployment never took: another
  shop's, or a test's) is dropped by housekeeping with a warning; the number held is the
  gauge `fulfil_held_events`, for operations to see events waiting for nothing.

The order service introduces orders itself (placing one), so for it an unknown order
only ever means an order it never took; the rule is the same.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import asyncpg

from shared.contracts.envelope import Event
from shared.logging import get_logger
from shared.messages import Handler, Incoming, Poison, RawMessage, decode
from shared.unit import Unit

log = get_logger(__name__)
T = TypeVar("T")
_LOCK_SPACE = 7  # the advisory-lock space of order ids (hashtextextended's seed)


async def lock(conn: asyncpg.Connection, order_id: str) -> None:
    """Serialises, until the transaction ends, everything that holds or releases events of
    one order."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, $2))", order_id, _LOCK_SPACE
    )


async def known_or_held(
    unit: Unit[Any],
    msg: Incoming[Any],
    load: Callable[[asyncpg.Connection, str], Awaitable[T | None]],
) -> T | None:
    """What `load` finds of the message's order; None, with the message held, while the
    order is unknown.

    `load` locks the row it returns (FOR UPDATE), so a known order needs nothing more:
    the advisory lock is taken only after a miss. Then the order is looked for again, as
    an introduction may have committed while we waited for the lock (each statement
    sees what committed before it began), and the message is held only if it is still
    missing: the introduction's `release`, behind the same lock, then finds it."""
    found = await load(unit.conn, msg.order_id)
    if found is not None:
        return found
    await lock(unit.conn, msg.order_id)
    found = await load(unit.conn, msg.order_id)
    if found is None:
        await hold(unit.conn, msg)
    return found


async def hold(conn: asyncpg.Connection, msg: Incoming[Any]) -> None:
    envelope, raw = msg.envelope, msg.raw
    await conn.execute(
        """INSERT INTO awaiting_order (event_id, order_id, event_type, envelope, topic,
           partition, "offset", occurred_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (event_id) DO NOTHING""",
        str(envelope.event_id),
        envelope.order_id,
        envelope.type,
        envelope.model_dump(mode="json"),
        raw.topic,
        raw.partition,
        raw.offset,
        envelope.occurred_at,
    )
    log.debug("event held until its order is known")


async def release(unit: Unit[Any], order_id: str, handlers: Mapping[type[Event], Handler]) -> int:
    """Handles, in this unit, the events held for `order_id`, oldest first; how many."""
    await lock(unit.conn, order_id)
    rows = await unit.conn.fetch(
        """DELETE FROM awaiting_order WHERE order_id = $1
           RETURNING envelope, topic, partition, "offset", occurred_at, received_at""",
        order_id,
    )
    for row in sorted(rows, key=lambda r: (r["occurred_at"], r["received_at"])):
        raw = RawMessage(
            row["topic"],
            row["partition"],
            row["offset"],
            None,
            json.dumps(row["envelope"]).encode(),
        )
        try:
            held = decode(raw)
        except Poison as poison:  # held by an earlier version whose model is gone since
            log.warning("held event no longer readable; dropped", reason=poison.reason,
                        detail=poison.detail, position=raw.position)  # fmt: skip
            continue
        handler = handlers.get(type(held.payload))
        if handler is not None:
            log.debug("handling held event", held_event_id=str(held.envelope.event_id))
            await handler(unit, held)
    return len(rows)


async def count(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM awaiting_order"))


async def purge(conn: asyncpg.Connection, older_than_days: float) -> int:
    rows = await conn.fetch(
        """DELETE FROM awaiting_order WHERE received_at < now() - make_interval(secs => $1)
           RETURNING event_id, event_type, order_id""",
        older_than_days * 86400,
    )
    for row in rows:
        log.warning(
            "held event dropped: its order never became known",
            held_event_id=row["event_id"],
            event_type=row["event_type"],
            order_id=row["order_id"],
        )
    return len(rows)
