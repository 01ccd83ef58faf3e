"""Durable timers fire through the outbox, also after the process that set them is gone."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from services.payment.app import build
from services.payment.settings import PaymentSettings
from shared import db, held, timers
from shared.contracts.events.payment import PaymentFailed
from shared.settings import ServiceSettings
from shared.timers import Timer
from shared.unit import Unit
from tests.support.infra import Infra
from tests.support.kafka import TopicTail
from tests.support.polling import eventually
from tests.support.services import running, settings_for

FLAKY_FAILURES: dict[str, int] = {}


async def emit_failure(unit: Unit, timer: Timer) -> None:
    if FLAKY_FAILURES.get(timer.key, 0) > 0:
        FLAKY_FAILURES[timer.key] -= 1
        raise ConnectionError("provider unreachable")
    await unit.emit(
        PaymentFailed(
            attempt_id=timer.payload["attempt"],
            method="card",
            reason="timer_fired",
            message="the payment session expired",
            retry_allowed=True,
        ),
        order_id=timer.key,
    )


def definition(infra: Infra, dsn: str) -> object:
    d = build(settings_for(PaymentSettings, infra.bootstrap, dsn))
    d.timers = {"probe": emit_failure}
    return d


async def timer_row(runtime: object, key: str) -> dict[str, object]:
    async with runtime.db.acquire() as conn:  # type: ignore[attr-defined]
        row = await conn.fetchrow(
            "SELECT state, attempts, last_error FROM timers WHERE key = $1", key
        )
    return dict(row)


async def test_a_timer_set_before_a_restart_fires_after_it(
    infra: Infra, database: str, tail: TopicTail
) -> None:
    order_id = f"ord_{uuid.uuid4().hex[:8]}"
    async with running(definition(infra, database), http=False) as first:
        async with first.unit() as unit:
            await unit.schedule(
                "probe", order_id, unit.now + timedelta(seconds=2), {"attempt": "a1"}
            )
        pending_at_stop = await timer_row(first, order_id)
    assert pending_at_stop["state"] == "pending", "the first process must be gone before it is due"
    async with running(definition(infra, database), http=False) as second:
        [record] = await tail.wait_for(lambda r: r.key == order_id.encode(), timeout=20)
        fired = await eventually(lambda: _fired(second, order_id), what="timer marked fired")
    assert record.type == "PaymentFailed"
    assert record.json()["payload"]["attempt_id"] == "a1"
    assert fired["attempts"] == 0
    assert len([r for r in tail.records if r.key == order_id.encode()]) == 1


async def _fired(runtime: object, key: str) -> dict[str, object] | None:
    row = await timer_row(runtime, key)
    return row if row["state"] == "fired" else None


async def test_a_failing_timer_is_retried_with_backoff_then_fires_once(
    infra: Infra, database: str, tail: TopicTail
) -> None:
    order_id = f"ord_{uuid.uuid4().hex[:8]}"
    FLAKY_FAILURES[order_id] = 2
    async with running(definition(infra, database), http=False) as runtime:
        async with runtime.unit() as unit:
            await unit.schedule("probe", order_id, unit.now, {"attempt": "a2"})
        await tail.wait_for(lambda r: r.key == order_id.encode(), timeout=20)
        row = await eventually(lambda: _fired(runtime, order_id), what="timer fired")
    assert row["attempts"] == 2 and "provider unreachable" in str(row["last_error"])
    assert len([r for r in tail.records if r.key == order_id.encode()]) == 1


async def test_a_cancelled_timer_never_fires(infra: Infra, database: str, tail: TopicTail) -> None:
    order_id = f"ord_{uuid.uuid4().hex[:8]}"
    control = f"ord_{uuid.uuid4().hex[:8]}"
    async with running(definition(infra, database), http=False) as runtime:
        async with runtime.unit() as unit:
            due = unit.now + timedelta(seconds=1)
            await unit.schedule("probe", order_id, due, {"attempt": "a3"})
            await unit.schedule("probe", control, due, {"attempt": "a4"})
        async with runtime.unit() as unit:
            assert await unit.cancel_timer("probe", order_id)
        await tail.wait_for(lambda r: r.key == control.encode(), timeout=20)
        assert (await timer_row(runtime, order_id))["state"] == "cancelled"
    assert not [r for r in tail.records if r.key == order_id.encode()]


REARMS: dict[str, int] = {}


async def rearm_once(unit: Unit, timer: Timer) -> None:
    """A retrying handler: the first firing re-arms its own timer, the second emits."""
    if REARMS.get(timer.key, 0) == 0:
        REARMS[timer.key] = 1
        await unit.schedule(timer.kind, timer.key, unit.now + timedelta(seconds=1), timer.payload)
        return
    await emit_failure(unit, timer)


async def test_a_timer_that_re_arms_itself_fires_again(
    infra: Infra, database: str, tail: TopicTail
) -> None:
    order_id = f"ord_{uuid.uuid4().hex[:8]}"
    d = build(settings_for(PaymentSettings, infra.bootstrap, database))
    d.timers = {"probe": rearm_once}
    async with running(d, http=False) as runtime:
        async with runtime.unit() as unit:
            await unit.schedule("probe", order_id, unit.now, {"attempt": "a5"})
        [record] = await tail.wait_for(lambda r: r.key == order_id.encode(), timeout=20)
        row = await eventually(lambda: _fired(runtime, order_id), what="timer fired")
    assert record.json()["payload"]["attempt_id"] == "a5"
    assert row["state"] == "fired"


async def test_cancelling_a_timer_the_poller_is_firing_neither_waits_nor_deadlocks(
    database: str,
) -> None:
    """The poller holds a firing timer's row while its handler waits for the order; a
    command holding the order and cancelling that timer must not wait for the row."""
    pool = await db.create_pool(database, size=2)
    try:
        async with pool.acquire() as conn, pool.acquire() as firing:
            await db.apply_migrations(conn, db.all_migrations("probe", Path("no-migrations")))
            key = f"ord_{uuid.uuid4().hex[:8]}"
            await timers.schedule(conn, "probe", key, datetime.now(UTC), {})
            async with firing.transaction():  # what the poller holds while it fires
                await firing.execute(
                    "SELECT pg_advisory_xact_lock(hashtextextended(id::text, 11)) FROM timers"
                    " WHERE key = $1",
                    key,
                )
                async with asyncio.timeout(5):  # waiting for the row would end here
                    assert await timers.cancel(conn, "probe", key) is False
            assert await timers.cancel(conn, "probe", key) is True
            state = await conn.fetchval("SELECT state FROM timers WHERE key = $1", key)
        assert state == "cancelled"
    finally:
        await pool.close()


async def test_a_timer_set_while_the_poller_sleeps_wakes_it(
    infra: Infra, database: str, tail: TopicTail
) -> None:
    """The poller sleeps until the earliest timer is due, its safety poll here longer than
    the test: a timer set sooner than that wakes it and fires when due."""
    d = build(settings_for(PaymentSettings, infra.bootstrap, database, timer_poll_seconds=600))
    d.timers = {"probe": emit_failure}
    later, sooner = f"ord_{uuid.uuid4().hex[:8]}", f"ord_{uuid.uuid4().hex[:8]}"
    async with running(d, http=False) as runtime:
        async with runtime.unit() as unit:
            await unit.schedule("probe", later, unit.now + timedelta(hours=1), {"attempt": "a6"})
        await eventually(lambda: _asleep_until(runtime, later), what="the poller sleeps")
        async with runtime.unit() as unit:
            await unit.schedule("probe", sooner, unit.now + timedelta(seconds=1), {"attempt": "a7"})
        [record] = await tail.wait_for(lambda r: r.key == sooner.encode(), timeout=20)
        await eventually(lambda: _fired(runtime, sooner), what="timer marked fired")
        assert (await timer_row(runtime, later))["state"] == "pending"
    assert record.json()["payload"]["attempt_id"] == "a7"


async def test_a_timer_set_after_the_pollers_listening_connection_was_cut_wakes_it(
    infra: Infra, database: str, tail: TopicTail
) -> None:
    """The poller's LISTEN lives on a connection of its own: when the database drops it,
    the poller listens again at once (its safety poll is longer than the test)."""
    d = build(settings_for(PaymentSettings, infra.bootstrap, database, timer_poll_seconds=600))
    d.timers = {"probe": emit_failure}
    order_id = f"ord_{uuid.uuid4().hex[:8]}"
    async with running(d, http=False) as runtime, runtime.db.acquire() as conn:
        first = await eventually(lambda: conn.fetchval(_LISTENING, "timers"), what="it listens")
        await conn.execute("SELECT pg_terminate_backend($1)", first)

        async def listens_again() -> int | None:
            pid = await conn.fetchval(_LISTENING, "timers")
            return pid if pid not in (None, first) else None

        await eventually(listens_again, timeout=15, what="the poller listens again")
        async with runtime.unit() as unit:
            await unit.schedule("probe", order_id, unit.now, {"attempt": "a8"})
        await tail.wait_for(lambda r: r.key == order_id.encode(), timeout=20)


_LISTENING = (
    "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
    " AND query LIKE 'LISTEN %' || $1 || '%'"
)


async def _asleep_until(runtime: object, key: str) -> bool:
    """Whether the poller has looked ahead and found the timer `key` next."""
    poller = runtime.poller  # type: ignore[attr-defined]
    async with runtime.db.acquire() as conn:  # type: ignore[attr-defined]
        due = await conn.fetchval(
            "SELECT extract(epoch FROM due_at)::float8 FROM timers WHERE key = $1", key
        )
    return poller.next_due == due


async def waits_for_the_order(unit: Unit, timer: Timer) -> None:
    await held.lock(unit.conn, timer.key)
    await emit_failure(unit, timer)


async def test_re_arming_a_timer_the_poller_is_firing_neither_waits_nor_deadlocks(
    infra: Infra, database: str, tail: TopicTail
) -> None:
    """The poller fires a timer whose handler waits for the order a command holds; the
    command re-arms that timer without waiting for the firing, and it fires again later."""
    d = build(settings_for(PaymentSettings, infra.bootstrap, database))
    d.timers = {"probe": waits_for_the_order}
    order_id = f"ord_{uuid.uuid4().hex[:8]}"
    async with running(d, http=False) as runtime:
        async with runtime.unit() as command:
            await held.lock(command.conn, order_id)
            async with runtime.unit() as unit:
                await unit.schedule("probe", order_id, unit.now, {"attempt": "a9"})
            async with runtime.db.acquire() as conn:
                await eventually(
                    lambda: conn.fetchval(_WAITING_FOR_A_LOCK),
                    what="the handler waits for the order",
                )
            async with asyncio.timeout(5):  # waiting for the firing would end here
                await command.schedule(
                    "probe", order_id, command.now + timedelta(seconds=1), {"attempt": "a10"}
                )
        # the command has committed: the handler goes on, and the re-armed timer fires later
        records = await tail.wait_for(lambda r: r.key == order_id.encode(), count=2, timeout=20)
        await eventually(lambda: _fired(runtime, order_id), what="timer marked fired")
    assert [r.json()["payload"]["attempt_id"] for r in records] == ["a9", "a10"]


_WAITING_FOR_A_LOCK = (
    "SELECT count(*) > 0 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


IDLE_WINDOW_SECONDS = 10.0
# An idle backend reports its counts to pg_stat_database within 10 s (PGSTAT_IDLE_INTERVAL),
# and at once when it exits.
STATS_DELAY_SECONDS = 11.0
_COMMITS = "SELECT xact_commit FROM pg_stat_database WHERE datname = $1"
_BACKENDS = "SELECT count(*) FROM pg_stat_activity WHERE datname = $1"


async def test_an_idle_service_hardly_touches_its_database(infra: Infra, database: str) -> None:
    """With nothing to do, a service with timers, an outbox and an effects worker commits
    at most once a second: its loops wait for NOTIFY or the next due time, not a poll."""
    settings = settings_for(
        PaymentSettings,
        infra.bootstrap,
        database,
        outbox_poll_seconds=ServiceSettings.model_fields["outbox_poll_seconds"].default,
        timer_poll_seconds=ServiceSettings.model_fields["timer_poll_seconds"].default,
        effects_poll_seconds=PaymentSettings.model_fields["effects_poll_seconds"].default,
    )
    name = database.rsplit("/", 1)[-1]
    admin = await asyncpg.connect(infra.admin_dsn)  # another database: its reads do not count

    async def commits() -> int:
        await admin.execute("SELECT pg_stat_clear_snapshot()")
        return int(await admin.fetchval(_COMMITS, name))

    async def gone() -> bool:
        return await admin.fetchval(_BACKENDS, name) == 0

    try:
        async with running(build(settings), http=False):
            await asyncio.sleep(STATS_DELAY_SECONDS)  # the start's commits all reported
            before = await commits()
            await asyncio.sleep(IDLE_WINDOW_SECONDS)  # the window measured, not a wait
        await eventually(gone, what="the service's connections closed")  # and reported
        after = await commits()
    finally:
        await admin.close()
    assert after - before <= IDLE_WINDOW_SECONDS, f"{after - before} commits while idle"
