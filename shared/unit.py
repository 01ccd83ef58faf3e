"""A unit of work: one database transaction, the events it emits and the timers it sets.

Message handlers, timer handlers, HTTP commands and background workers all change state
through a unit, so state, outgoing events (outbox) and timers commit or roll back
together. `Units` is the one place units are made: the runtime builds one per service
with the service's typed dependencies, and the consumer, the timer poller, the HTTP views
and the workers all take their units from it, so `unit.deps` has the service's own `Deps`
type wherever it is read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, Protocol, TypeVar

import asyncpg

from shared import outbox, timers, tracing
from shared.contracts.envelope import Envelope, Event
from shared.contracts.registry import topic_for_event
from shared.settings import ServiceSettings

D = TypeVar("D")

# The correlation id of the HTTP request being answered (set by the HTTP edge): the events
# a request causes carry it unless the caller names another.
REQUEST_CORRELATION_ID: ContextVar[str | None] = ContextVar("request_correlation_id", default=None)


@dataclass
class Unit(Generic[D]):
    conn: asyncpg.Connection
    service: str
    correlation_id: str | None
    causation_id: str | None
    deps: D
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    emitted: list[Envelope] = field(default_factory=list)
    outgoing: list[outbox.Row] = field(default_factory=list)
    trace: tracing.TraceHeaders | None = None
    """The trace context its outbox rows, effects and timers carry (shared/tracing.py)."""
    committed: list[Callable[[], None]] | None = None
    """What runs once the unit's transaction has committed (`after_commit`); most units
    have nothing, so no list is made for them."""

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Runs `callback` once this unit's transaction commits, never when it rolls back:
        a business counter bumped in a transaction that rolls back and is retried would
        count twice. Whoever commits the unit's transaction calls `commit_done`."""
        if self.committed is None:
            self.committed = [callback]
        else:
            self.committed.append(callback)

    def commit_done(self) -> None:
        callbacks, self.committed = self.committed, None
        for callback in callbacks or ():
            callback()

    async def emit(self, event: Event, *, order_id: str | None) -> Envelope:
        """Adds `event` to the unit's outbox rows, written by `flush` before the commit; the
        relay publishes them after it. A retired model (an old name or version kept so that
        what is still on the topic can be read) is never written again."""
        if event.RETIRED:
            raise ValueError(f"{event.TYPE} v{event.VERSION} is retired; emit its successor")
        topic = topic_for_event(event.TYPE)
        if topic.producer != self.service:
            raise ValueError(f"{self.service} may not publish {event.TYPE} ({topic.name})")
        envelope = Envelope.wrap(
            event,
            producer=self.service,
            order_id=order_id,
            correlation_id=self.correlation_id,
            causation_id=self.causation_id,
            occurred_at=self.now,
        )
        if self.correlation_id is None:
            self.correlation_id = envelope.correlation_id
        self.outgoing.append(outbox.row(topic, envelope, self.trace))
        self.emitted.append(envelope)
        if tracing.ENABLED:
            tracing.mark_order(order_id)
        return envelope

    async def flush(self) -> None:
        """Writes the emitted events to the outbox in one round trip (in emitting order)."""
        rows, self.outgoing = self.outgoing, []
        await outbox.add_many(self.conn, rows)

    async def schedule(
        self, kind: str, key: str, due_at: datetime, payload: dict[str, Any] | None = None
    ) -> None:
        """Sets (or re-arms) the timer `kind`/`key`; a handler may re-arm the timer that is
        firing it, under the same key."""
        await timers.schedule(
            self.conn,
            kind,
            key,
            due_at,
            payload or {},
            correlation_id=self.correlation_id,
            trace=self.trace,
        )

    async def cancel_timer(self, kind: str, key: str) -> bool:
        return await timers.cancel(self.conn, kind, key)


@dataclass(frozen=True)
class Units(Generic[D]):
    """Makes the units of one service, all with its dependencies."""

    service: str
    deps: D

    def on(
        self,
        conn: asyncpg.Connection,
        *,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        trace: tracing.TraceHeaders | None = None,
    ) -> Unit[D]:
        """A unit in a transaction the caller has opened (and flushes before committing).
        Its rows carry the current span's trace context when one is recording, else `trace`
        (what the caller was given) or the one the HTTP edge or a worker carries in."""
        unit = Unit(conn, self.service, correlation_id, causation_id, self.deps)
        unit.trace = tracing.outgoing(trace)
        return unit

    @asynccontextmanager
    async def begin(
        self,
        pool: asyncpg.Pool,
        *,
        correlation_id: str | None = None,
        causation_id: str | None = None,
    ) -> AsyncIterator[Unit[D]]:
        """A unit in a transaction of its own, committed (outbox rows included) on exit."""
        correlation_id = correlation_id or REQUEST_CORRELATION_ID.get()
        async with pool.acquire() as conn, conn.transaction():
            unit = self.on(conn, correlation_id=correlation_id, causation_id=causation_id)
            yield unit
            await unit.flush()
        unit.commit_done()


class Service(Protocol[D]):
    """A running service as its views and workers see it: settings, pool, typed deps and
    units (the runtime is one)."""

    @property
    def name(self) -> str: ...

    @property
    def settings(self) -> ServiceSettings: ...

    @property
    def db(self) -> asyncpg.Pool: ...

    @property
    def deps(self) -> D: ...

    def unit(
        self, *, correlation_id: str | None = None, causation_id: str | None = None
    ) -> AbstractAsyncContextManager[Unit[D]]: ...
