"""Reading a running service's own database: its rows, its inbox and its outbox."""

from __future__ import annotations

from typing import Any

from shared.contracts.envelope import Envelope
from shared.runtime import Runtime
from tests.support.polling import eventually


async def rows(runtime: Runtime, sql: str, *args: Any) -> list[dict[str, Any]]:
    async with runtime.db.acquire() as conn:
        return [dict(r) for r in await conn.fetch(sql, *args)]


async def outbox_types(runtime: Runtime, order_id: str, topic: str) -> list[str]:
    """Everything the service has committed to publish on `topic` for the order, in order."""
    found = await rows(
        runtime,
        "SELECT event_type FROM outbox WHERE key = $1 AND topic = $2 ORDER BY id",
        order_id.encode(),
        topic,
    )
    return [r["event_type"] for r in found]


async def handled(runtime: Runtime, *envelopes: Envelope) -> bool:
    """Whether the service has taken every one of these messages (its inbox has them)."""
    ids = list({str(e.event_id) for e in envelopes})
    async with runtime.db.acquire() as conn:
        count = await conn.fetchval(
            "SELECT count(*) FROM inbox WHERE message_id = ANY($1::text[])", ids
        )
    return bool(count == len(ids))


async def until_handled(runtime: Runtime, *envelopes: Envelope) -> None:
    await eventually(lambda: handled(runtime, *envelopes), what="messages handled")


async def held(runtime: Runtime, order_id: str) -> list[str]:
    """The events held for an order the service has not seen placed (shared.held), oldest first."""
    found = await rows(
        runtime,
        "SELECT event_type FROM awaiting_order WHERE order_id = $1 ORDER BY occurred_at",
        order_id,
    )
    return [r["event_type"] for r in found]


async def until_held(runtime: Runtime, order_id: str, count: int) -> list[str]:
    """Waits until `count` events are held for the order; their types, oldest first."""

    async def probe() -> list[str]:
        found = await held(runtime, order_id)
        return found if len(found) == count else []

    return await eventually(probe, what=f"{count} events held for {order_id}")
