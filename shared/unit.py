"""A unit of work: one database transaction, the events it emits and the timers it sets.

Message handlers, timer handlers and HTTP commands all change state through a
unit, so state, outgoing events (outbox) and timers commit or roll back together.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg

from shared import outbox, timers
from shared.contracts.envelope import Envelope, Event
from shared.contracts.registry import topic_for_event


@dataclass
class Unit:
    conn: asyncpg.Connection
    service: str
    correlation_id: str | None
    causation_id: str | None
    deps: Any = None
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    emitted: list[Envelope] = field(default_factory=list)
    outgoing: list[outbox.Row] = field(default_factory=list)

    async def emit(self, event: Event, *, order_id: str | None) -> Envelope:
        """Adds `event` to the unit's outbox rows, written by `flush` before the commit; the
        relay publishes them after it."""
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
        self.outgoing.append(outbox.row(topic, envelope))
        self.emitted.append(envelope)
        return envelope

    async def flush(self) -> None:
        """Writes the emitted events to the outbox in one round trip (in emitting order)."""
        rows, self.outgoing = self.outgoing, []
        await outbox.add_many(self.conn, rows)

    async def schedule(
        self, kind: str, key: str, due_at: datetime, payload: dict[str, Any] | None = None
    ) -> None:
        await timers.schedule(
            self.conn, kind, key, due_at, payload or {}, correlation_id=self.correlation_id
        )

    async def cancel_timer(self, kind: str, key: str) -> bool:
        return await timers.cancel(self.conn, kind, key)


@asynccontextmanager
async def unit_of_work(
    pool: asyncpg.Pool,
    service: str,
    *,
    correlation_id: str | None = None,
    causation_id: str | None = None,
    deps: Any = None,
) -> AsyncIterator[Unit]:
    async with pool.acquire() as conn, conn.transaction():
        unit = Unit(conn, service, correlation_id, causation_id, deps)
        yield unit
        await unit.flush()
