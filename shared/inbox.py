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


async def record_many(
    conn: asyncpg.Connection, entries: list[tuple[str, str, int, int, str | None]]
) -> set[str]:
    """Records (message id, topic, partition, offset, event type) rows in one statement;
    returns the ids not seen before. An id twice in `entries` is returned once."""
    if not entries:
        return set()
    ids, topics, partitions, offsets, types = (
        list(column) for column in zip(*entries, strict=True)
    )
    rows = await conn.fetch(
        'INSERT INTO inbox (message_id, topic, partition, "offset", event_type, outcome)'
        " SELECT m, t, p, o, e, 'handled' FROM unnest($1::text[], $2::text[], $3::int[],"
        " $4::bigint[], $5::text[]) AS u(m, t, p, o, e)"
        " ON CONFLICT (message_id) DO NOTHING RETURNING message_id",
        ids,
        topics,
        partitions,
        offsets,
        types,
    )
    return {row["message_id"] for row in rows}


async def purge(conn: asyncpg.Connection, older_than_days: float) -> int:
    result = await conn.execute(
        "DELETE FROM inbox WHERE received_at < now() - make_interval(secs => $1)",
        older_than_days * 86400,
    )
    return int(result.split()[-1])
