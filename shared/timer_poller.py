"""Durable timers, the poller: fires due timers through a unit of work.

The poller takes due timers under an advisory lock each (replicas share the work), runs
the service's timer handler in the same transaction that marks the timer fired, so its
events reach the outbox exactly when the timer is spent. A handler that fails is retried
with backoff and, after its attempts run out, marked failed with the error for operations
to see. A handler may re-arm the timer it fires (same kind and key): it then stays pending
at its new due time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import structlog

from shared import db, metrics, tracing
from shared.backoff import capped_backoff
from shared.logging import get_logger
from shared.timers import Timer
from shared.unit import Unit, Units

log = get_logger(__name__)

_LOCKED_SECONDS = 0.1
# The earliest due timer no other transaction is firing (or cancelling), locked for this
# one. The lock is taken outside the subquery so that only the chosen timer is locked.
# The lock is the firing lock of shared/timers.py.
_CHOOSE = """
SELECT id FROM (
    SELECT id FROM timers WHERE state = 'pending' AND due_at <= now()
    ORDER BY due_at LIMIT 16) AS due
WHERE pg_try_advisory_xact_lock(hashtextextended(id::text, 11)) LIMIT 1"""
_READ = """SELECT id, kind, key, due_at, payload, correlation_id, attempts, traceparent,
                  tracestate FROM timers
           WHERE id = $1 AND state = 'pending' AND due_at <= now()"""
TimerHandler = Callable[[Unit[Any], Timer], Awaitable[None]]


def backoff(attempts: int) -> timedelta:
    return capped_backoff(attempts, 0.5, 300.0)


class TimerPoller:
    """Sleeps until the earliest pending timer is due; a timer set sooner than that wakes it
    (the `timers` NOTIFY carries each due time), so nothing polls while nothing is due.
    `poll_seconds` is the longest sleep, a safety net; `retry_seconds` the pause after the
    database failed, or while a due timer is locked by another transaction."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        handlers: Mapping[str, TimerHandler],
        units: Units[Any],
        *,
        dsn: str | None = None,
        poll_seconds: float = 10.0,
        retry_seconds: float = 1.0,
        max_attempts: int = 10,
    ) -> None:
        self.pool = pool
        self.handlers = handlers
        self.units = units
        self.dsn = dsn
        self.poll_seconds = poll_seconds
        self.retry_seconds = retry_seconds
        self.max_attempts = max_attempts
        self.next_due: float | None = None
        """The earliest pending due time (epoch seconds) the last look found; None for none."""
        self._wait = poll_seconds
        self._heard: float | None = None  # the earliest due time notified during a pass

    async def run(self) -> None:
        """Fires due timers until cancelled. While the database is unreachable (restarting,
        connections dropped) it keeps trying; anything else ends the loop, and the runtime
        with it."""
        if self.dsn is None:
            await self._run(asyncio.Event())
            return
        async with db.woken_by(self.dsn, "timers", self._sooner) as woken:
            await self._run(woken)

    async def _run(self, woken: asyncio.Event) -> None:
        while True:
            woken.clear()
            self._heard = None
            try:
                while await self.fire_next():
                    pass
                wait = self._wait
                if self._heard is not None and (
                    self.next_due is None or self._heard < self.next_due
                ):
                    wait = 0  # set while the pass looked, perhaps after: look again
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not db.is_transient(exc):
                    raise
                log.warning("timer poll failed; retrying", error=repr(exc))
                wait = self.retry_seconds
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(woken.wait(), wait)

    def _sooner(self, payload: str) -> bool:
        """Whether a timer set to `payload` (epoch seconds) is due before the poller wakes."""
        try:
            due = float(payload)
        except ValueError:
            return True
        self._heard = due if self._heard is None else min(self._heard, due)
        return self.next_due is None or due < self.next_due

    async def fire_next(self) -> bool:
        """Fires one due timer; False when none is due, with `next_due` and the time to wait
        for it found in the same transaction.

        The timer is held by its firing lock (see `shared.timers.cancel`), not its row: a
        command that holds the state the handler waits for (the order) may still re-arm the
        timer meanwhile, where waiting for the row would deadlock the two. Its row is written
        last, once the handler has its locks."""
        async with self.pool.acquire() as conn, conn.transaction():
            chosen = await conn.fetchval(_CHOOSE)
            if chosen is None:
                await self._look_ahead(conn)
                return False
            # read after the lock is held: a replica that fired it meanwhile has committed
            row = await conn.fetchrow(_READ, chosen)
            if row is None:
                return True
            timer = Timer(**dict(row))
            with (
                structlog.contextvars.bound_contextvars(
                    timer_kind=timer.kind, timer_key=timer.key, correlation_id=timer.correlation_id
                ),
                self._traced(timer),
            ):
                unit = await self._fire(conn, timer)
        if unit is not None:
            unit.commit_done()
        return True

    def _traced(self, timer: Timer) -> contextlib.AbstractContextManager[Any]:
        """Fires `timer` in the trace that set it: a span of its own when the service traces,
        else its rows carry that context through."""
        carried = None if timer.traceparent is None else (timer.traceparent, timer.tracestate)
        return tracing.continuing(
            self.units.service,
            f"timer {timer.kind}",
            carried,
            {"fulfil.timer.kind": timer.kind, "fulfil.timer.key": timer.key},
        )

    async def _look_ahead(self, conn: asyncpg.Connection) -> None:
        ahead = await conn.fetchrow(
            """SELECT extract(epoch FROM min(due_at))::float8 AS due,
                      extract(epoch FROM min(due_at) - now())::float8 AS wait
               FROM timers WHERE state = 'pending'"""
        )
        self.next_due = ahead["due"]
        if self.next_due is None:
            self._wait = self.poll_seconds
        elif ahead["wait"] <= 0:  # due, but another transaction holds it: look again soon
            self._wait = min(_LOCKED_SECONDS, self.poll_seconds)
        else:
            self._wait = min(ahead["wait"], self.poll_seconds)

    async def _fire(self, conn: asyncpg.Connection, timer: Timer) -> Unit[Any] | None:
        """Fires `timer` in a savepoint; its unit when the handler succeeded (the caller
        calls its `commit_done` once the transaction commits)."""
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
            # a command that re-armed the timer meanwhile moved its due time: its wins
            await conn.execute(
                """UPDATE timers SET attempts = $2, last_error = $3, due_at = $4,
                   state = CASE WHEN $5 THEN 'failed' ELSE 'pending' END
                   WHERE id = $1 AND due_at = $6""",
                timer.id,
                attempts,
                repr(exc),
                datetime.now(UTC) + backoff(attempts),
                failed,
                timer.due_at,
            )
            metrics.TIMERS_FIRED.labels(timer.kind, "failed" if failed else "retry").inc()
            log.warning("timer handler failed", attempts=attempts, gave_up=failed, error=repr(exc))
            return None
        # A handler (or a command meanwhile) that re-armed the timer moved its due time: then
        # it stays pending.
        await conn.execute(
            "UPDATE timers SET state = 'fired', fired_at = now() WHERE id = $1 AND due_at = $2",
            timer.id,
            timer.due_at,
        )
        metrics.TIMERS_FIRED.labels(timer.kind, "fired").inc()
        return unit
