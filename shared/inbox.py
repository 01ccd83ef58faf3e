"""The inbox: a consumed message's id recorded in the transaction of its effects."""

from __future__ import annotations

import asyncpg


async def record(
    conn: asyncpg.Connection,
    message_id: str,
    *,
    topic: str,
    partition: int,
    offset: int,
    event_type: str | None,
    outcome: str = "handled",
) -> bool:
    """Records the message; False when it was seen before (stop: no second effect)."""
    inserted = await conn.fetchval(
        'INSERT INTO inbox (message_id, topic, partition, "offset", event_type, outcome)'
        " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (message_id) DO NOTHING RETURNING true",
        message_id,
        topic,
        partition,
        offset,
        event_type,
        outcome,
    )
    return bool(inserted)


async def purge(conn: asyncpg.Connection, older_than_days: float) -> int:
    result = await conn.execute(
        "DELETE FROM inbox WHERE received_at < now() - make_interval(secs => $1)",
        older_than_days * 86400,
    )
    return int(result.split()[-1])
