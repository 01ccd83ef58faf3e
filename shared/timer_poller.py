"""Durable timers, the poller: fires due timers through a unit of work.

The poller takes due timers with `FOR UPDATE SKIP LOCKED` (replicas share the work), runs
the service's timer handler in the same transaction that marks the timer fired, so its
events reach the outbox exactly when the timer is spent. A handler that fails is retried
with backoff and, after its attempts run out, marked failed with the error for operations
to see. A handler may re-arm the timer it fires (same kind and key): it then stays pending
at its new due time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import structlog

from shared import db, metrics
from shared.backoff import capped_backoff
from shared.logging import get_logger
from shared.timers import Timer
from shared.unit import Unit, Units

log = get_logger(__name__)

TimerHandler = Callable[[Unit[Any], Timer], Awaitable[None]]


def backoff(attempts: int) -> timedelta:
    return capped_backoff(attempts, 0.5, 300.0)


class TimerPoller:
    def __init__(
        self,
        pool: asyncpg.Pool,
        handlers: Mapping[str, TimerHandler],
        units: Units[Any],
        *,
        poll_seconds: float = 1.0,
        max_attempts: int = 10,
    ) -> None:
        self.pool = pool
        self.handlers = handlers
        self.units = units
        self.poll_seconds = poll_seconds
        self.max_attempts = max_attempts

    async def run(self) -> None:
        """Fires due timers until cancelled. While the database is unreachable (restarting,
        connections dropped) it keeps trying; anything else ends the loop, and the runtime
        with it."""
        while True:
            try:
                while await self.fire_next():
                    pass
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not db.is_transient(exc):
                    raise
                log.warning("timer poll failed; retrying", error=repr(exc))
            await asyncio.sleep(self.poll_seconds)

    async def fire_next(self) -> bool:
        """Fires one due timer; False when none is due."""
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                """SELECT id, kind, key, due_at, payload, correlation_id, attempts FROM timers
                   WHERE state = 'pending' AND due_at <= now()
                   ORDER BY due_at LIMIT 1 FOR UPDATE SKIP LOCKED"""
            )
            if row is None:
                return False
            timer = Timer(**dict(row))
            with structlog.contextvars.bound_contextvars(
                timer_kind=timer.kind, timer_key=timer.key, correlation_id=timer.correlation_id
            ):
                await self._fire(conn, timer)
            return True

    async def _fire(self, conn: asyncpg.Connection, timer: Timer) -> None:
        handler = self.handlers.get(timer.kind)
        try:
            if handler is None:
                raise LookupError(f"no handler for timer kind {timer.kind!r}")
            async with conn.transaction():
                unit = self.units.on(
                    conn,
                    correlation_id=timer.correlation_id,
                    causation_id=f"timer:{timer.kind}:{timer.key}",
                )
                await handler(unit, timer)
                await unit.flush()
        except Exception as exc:
            attempts = timer.attempts + 1
            failed = attempts >= self.max_attempts or handler is None
            await conn.execute(
                """UPDATE timers SET attempts = $2, last_error = $3, due_at = $4,
                   state = CASE WHEN $5 THEN 'failed' ELSE 'pending' END WHERE id = $1""",
                timer.id,
                attempts,
                repr(exc),
                datetime.now(UTC) + backoff(attempts),
                failed,
            )
            metrics.TIMERS_FIRED.labels(timer.kind, "failed" if failed else "retry").inc()
            log.warning("timer handler failed", attempts=attempts, gave_up=failed, error=repr(exc))
            return
        # A handler that re-armed its own timer moved its due time: then it stays pending.
        await conn.execute(
            "UPDATE timers SET state = 'fired', fired_at = now() WHERE id = $1 AND due_at = $2",
            timer.id,
            timer.due_at,
        )
        metrics.TIMERS_FIRED.labels(timer.kind, "fired").inc()
