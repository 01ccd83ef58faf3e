"""One statement per set, not per row, on notify's hot path; and the order row locked by
what notify hands to the held-events rule, so that two events of one order read from two
topics at once decide one after the other."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from services.notify import repository, steps
from services.notify.domain import REMINDER, Outcome, Source
from shared.messages import decode
from tests.integration.notify.support import notify, order_placed, received, shipped
from tests.support.events import new_order_id, raw, resend, wrap
from tests.support.infra import Infra


class Counting:
    """A connection that remembers the SQL it ran."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self.statements: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.conn, name)

    async def execute(self, sql: str, *args: Any) -> Any:
        self.statements.append(sql)
        return await self.conn.execute(sql, *args)

    async def fetch(self, sql: str, *args: Any) -> Any:
        self.statements.append(sql)
        return await self.conn.fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> Any:
        self.statements.append(sql)
        return await self.conn.fetchrow(sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        self.statements.append(sql)
        return await self.conn.fetchval(sql, *args)

    def touching(self, table: str) -> list[str]:
        return [s for s in self.statements if f" {table} " in f" {' '.join(s.split())} "]


async def test_stopping_reminders_and_telling_take_one_statement_per_set(
    infra: Infra, database: str, sinks: Any
) -> None:
    order_id = new_order_id()
    placed = order_placed(order_id)
    async with notify(infra, database, sinks, reminder_max=3) as runtime:
        await resend(infra, wrap(placed, order_id))
        await received(sinks, placed.contact, 2)
        async with runtime.db.acquire() as conn, conn.transaction():
            counting = Counting(conn)
            unit = runtime.units.on(counting)  # type: ignore[arg-type]
            order = await repository.load_order(conn, order_id)
            assert order is not None
            keys = steps.reminder_keys(runtime.deps, order)
            later = datetime.now(UTC) + timedelta(days=1)
            for key in keys:
                await unit.schedule(REMINDER, key, later, {"order_id": order_id})
            counting.statements.clear()
            source = Source(f"probe:{order_id}", "Probe", None, {})
            await steps.record(unit, order, Outcome(stop_reminders=True), source)
            assert len(counting.touching("timers")) == 1, counting.statements
            event = shipped(placed, order_id)
            await steps.tell(
                unit, order, "shipped", Source(f"tell:{order_id}", "Probe", None, event)
            )
            inserts = [s for s in counting.touching("messages") if "INSERT" in s]
            told = await conn.fetch(
                "SELECT channel FROM messages WHERE source_event_id = $1", f"tell:{order_id}"
            )
            timers = await conn.fetch(
                "SELECT key, state FROM timers WHERE kind = $1 AND key = ANY($2::text[])",
                REMINDER,
                keys,
            )
    assert len(keys) == 6, "three reminders, each with its morning re-arm"
    assert sorted(t["key"] for t in timers) == sorted(keys)
    assert {t["state"] for t in timers} == {"cancelled"}
    assert len(inserts) == 1, "both channels' messages in one statement"
    assert sorted(r["channel"] for r in told) == ["email", "sms"]


async def test_an_event_about_a_known_order_locks_its_row_until_it_commits(
    infra: Infra, database: str, sinks: Any
) -> None:
    order_id = new_order_id()
    placed = order_placed(order_id)
    async with notify(infra, database, sinks) as runtime:
        await resend(infra, wrap(placed, order_id))
        await received(sinks, placed.contact, 2)
        msg = decode(raw(wrap(shipped(placed, order_id), order_id), 0))
        async with runtime.db.acquire() as conn, runtime.db.acquire() as other:
            async with conn.transaction():
                unit = runtime.units.on(conn)
                await steps.react(unit, msg, lambda _: Outcome())
                with pytest.raises(asyncpg.LockNotAvailableError):
                    await other.execute(
                        "SELECT 1 FROM orders WHERE order_id = $1 FOR UPDATE NOWAIT", order_id
                    )
            assert await other.fetchval(
                "SELECT 1 FROM orders WHERE order_id = $1 FOR UPDATE NOWAIT", order_id
            ), "free once the handling transaction ended"
