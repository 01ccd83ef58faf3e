"""Durable timers, the store: setting and cancelling a due time in PostgreSQL.

A timer belongs to the service that set it and survives restarts. Units set and
cancel timers in their transaction (`Unit.schedule`); `shared.timer_poller` fires
them when due, holding each under the firing lock rather than its row, so that setting a
timer that is being fired waits for nothing: the firing leaves a timer it finds re-armed
pending at its new due time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg


@dataclass(frozen=True)
class Timer:
    id: int
    kind: str
    key: str
    due_at: datetime
    payload: dict[str, Any]
    correlation_id: str | None
    attempts: int
    traceparent: str | None = None  # the trace context that set it (shared/tracing.py)
    tracestate: str | None = None


async def schedule(
    conn: asyncpg.Connection,
    kind: str,
    key: str,
    due_at: datetime,
    payload: dict[str, Any],
    *,
    correlation_id: str | None = None,
    trace: tuple[str, str | None] | None = None,
) -> None:
    """Sets (or resets) the timer `kind`/`key`; `trace` is the trace context that set it."""
    traceparent, tracestate = trace or (None, None)
    await conn.execute(
        """INSERT INTO timers (kind, key, due_at, payload, correlation_id, traceparent,
               tracestate)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (kind, key) DO UPDATE SET
               due_at = EXCLUDED.due_at, payload = EXCLUDED.payload,
               correlation_id = EXCLUDED.correlation_id, state = 'pending',
               attempts = 0, last_error = NULL, fired_at = NULL,
               traceparent = EXCLUDED.traceparent, tracestate = EXCLUDED.tracestate""",
        kind,
        key,
        due_at,
        payload,
        correlation_id,
        traceparent,
        tracestate,
    )


async def cancel(conn: asyncpg.Connection, kind: str, key: str) -> bool:
    """Cancels the pending timer `kind`/`key`; False when there is none, or when the poller
    is firing it right now. A firing timer's handler may be waiting for the state this
    transaction has locked (the order): waiting for the firing to end would deadlock the
    two. So it is left to fire: its handler runs after this transaction commits and decides
    on the state this one leaves, as it would had it fired a moment earlier. Holding the
    firing lock until it commits, this transaction keeps the poller from starting to fire
    the timer it cancels. The firing lock of a timer is the transaction-level advisory lock
    `hashtextextended(id::text, 11)`, taken by the poller while it fires the timer."""
    result = await conn.execute(
        """UPDATE timers SET state = 'cancelled' WHERE id = (
               SELECT id FROM (
                   SELECT id FROM timers WHERE kind = $1 AND key = $2 AND state = 'pending'
                   FOR UPDATE SKIP LOCKED) AS pending
               WHERE pg_try_advisory_xact_lock(hashtextextended(id::text, 11)))""",
        kind,
        key,
    )
    return result.endswith(" 1")
