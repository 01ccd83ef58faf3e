"""The outbox: committed events are published once, in order per key; nothing else is."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import defaultdict

from deploy.local.ports import free_port
from services.order.app import build
from services.order.settings import OrderSettings
from shared import db
from shared.contracts.events.order import OrderClosed, OrderCompleted
from shared.settings import service_env
from shared.unit import Units
from tests.support.events import new_order_id
from tests.support.infra import REPO, Infra
from tests.support.kafka import TopicTail
from tests.support.polling import eventually
from tests.support.services import running, settings_for


def _event_ids(records: list, order_ids: set[str]) -> list[str]:
    return [r.json()["event_id"] for r in records if r.json().get("order_id") in order_ids]


async def test_committed_events_are_published_once_in_order_per_key(
    infra: Infra, database: str, tail: TopicTail
) -> None:
    definition = build(settings_for(OrderSettings, infra.bootstrap, database))
    async with running(definition, http=False) as runtime:
        orders = [new_order_id() for _ in range(5)]
        emitted: dict[str, list[str]] = defaultdict(list)
        for round_ in range(4):
            for order_id in orders:
                async with runtime.unit() as unit:
                    event = OrderCompleted(confirmed_by="customer") if round_ else OrderClosed()
                    env = await unit.emit(event, order_id=order_id)
                    emitted[order_id].append(str(env.event_id))
        records = await tail.wait_for(lambda r: r.key and r.key.decode() in orders, count=20)
        await asyncio.sleep(0.5)  # anything extra would be a duplicate: give it a chance to show
        await tail.poll()
    for order_id in orders:
        published = [r.json()["event_id"] for r in tail.records if r.key == order_id.encode()]
        assert published == emitted[order_id], "each event once, in the order it was committed"
    first = records[0]
    assert first.topic == "orders.v1"
    assert first.type in {"OrderClosed", "OrderCompleted"}
    assert first.headers["event_id"].decode() == first.json()["event_id"]
    assert first.json()["producer"] == "order"


async def test_a_rolled_back_transaction_publishes_nothing(
    infra: Infra, database: str, tail: TopicTail
) -> None:
    definition = build(settings_for(OrderSettings, infra.bootstrap, database))
    async with running(definition, http=False) as runtime:
        doomed, kept = new_order_id(), new_order_id()
        try:
            async with runtime.unit() as unit:
                await unit.emit(OrderClosed(), order_id=doomed)
                raise RuntimeError("the state change failed")
        except RuntimeError:
            pass
        async with runtime.unit() as unit:
            await unit.emit(OrderClosed(), order_id=kept)
        await tail.wait_for(lambda r: r.key == kept.encode())
        async with runtime.db.acquire() as conn:
            assert (
                await conn.fetchval("SELECT count(*) FROM outbox WHERE key = $1", doomed.encode())
                == 0
            )
    assert not [r for r in tail.records if r.key == doomed.encode()]


async def test_relay_killed_mid_batch_and_restarted_loses_nothing(
    infra: Infra, database: str, tail: TopicTail
) -> None:
    """SIGKILL the whole service while it publishes a backlog; after a restart all arrive."""
    total, order_id = 6000, new_order_id()
    pool = await db.create_pool(database)
    try:
        async with pool.acquire() as conn:
            await db.apply_migrations(conn, build().migrations())
        expected = []
        async with Units("order", deps=None).begin(pool) as unit:
            for _ in range(total):
                expected.append(str((await unit.emit(OrderClosed(), order_id=order_id)).event_id))
        env = dict(os.environ, PYTHONPATH=str(REPO))
        env.update(
            service_env(
                "order",
                env="test",
                kafka_bootstrap=infra.bootstrap,
                database_url=database,
                http_port=free_port(),
                outbox_batch_size=100,
            )
        )

        def spawn() -> subprocess.Popen[bytes]:
            return subprocess.Popen(
                [sys.executable, "-m", "services.order"],
                cwd=REPO,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )

        first = spawn()
        try:
            await tail.wait_for(lambda r: r.key == order_id.encode(), timeout=60)  # the first
            first.send_signal(signal.SIGKILL)
            first.wait(10)
            async with pool.acquire() as conn:
                left = await conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL")
            assert left > 0, "the kill came after the backlog was done; the test proved nothing"
            second = spawn()
            try:

                async def drained() -> bool:
                    async with pool.acquire() as conn:
                        n = await conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL")
                    return n == 0

                await eventually(drained, timeout=60, what="outbox drained after restart")
                await tail.wait_for(lambda r: r.key == order_id.encode(), count=total, timeout=30)
            finally:
                second.terminate()
                assert second.wait(20) == 0, "the service stops cleanly on SIGTERM"
        finally:
            if first.poll() is None:
                first.kill()
    finally:
        await pool.close()
    published = _event_ids(tail.records, {order_id})
    assert set(published) == set(expected), "every committed event arrived"
    first_seen = list(dict.fromkeys(published))
    assert first_seen == expected, "first deliveries keep the commit order of the key"


_RELAY_LOCK_HOLDER = (
    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND granted"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


async def test_the_relay_takes_its_lock_again_when_its_connection_is_cut(
    infra: Infra, database: str, tail: TopicTail
) -> None:
    """The relay's own connection holds the leader lock and the LISTEN: when the database
    drops it (a restart, an administrator), the relay reconnects, leads again and goes on
    publishing, rather than publishing without the lock another replica could take. It
    learns of the loss from the connection, not from its safety poll (longer than the test)."""
    settings = settings_for(OrderSettings, infra.bootstrap, database, outbox_poll_seconds=600)
    definition = build(settings)
    async with running(definition, http=False) as runtime:
        lock = 0x0F0F_2002
        async with runtime.db.acquire() as conn:
            first = await eventually(
                lambda: conn.fetchval(_RELAY_LOCK_HOLDER, lock), what="the relay leads"
            )
            await conn.execute("SELECT pg_terminate_backend($1)", first)

            async def leads_again() -> int | None:
                holder = await conn.fetchval(_RELAY_LOCK_HOLDER, lock)
                return holder if holder not in (None, first) else None

            await eventually(leads_again, timeout=15, what="the relay leads again")
        order_id = new_order_id()
        async with runtime.unit() as unit:
            await unit.emit(OrderClosed(), order_id=order_id)
        await tail.wait_for(lambda r: r.key == order_id.encode())


async def test_transactions_committed_while_the_relay_publishes_share_its_passes(
    infra: Infra, database: str, tail: TopicTail
) -> None:
    """Many writers at once: every event arrives once and in commit order per key, and the
    relay reads them in far fewer passes than there are transactions."""
    definition = build(settings_for(OrderSettings, infra.bootstrap, database))
    async with running(definition, http=False) as runtime:
        relay = runtime.relay
        orders = [new_order_id() for _ in range(8)]
        emitted: dict[str, list[str]] = defaultdict(list)
        passes_before = relay.passes

        async def writer(order_id: str) -> None:
            event = OrderCompleted(confirmed_by="customer")
            for _ in range(25):
                async with runtime.unit() as unit:
                    env = await unit.emit(event, order_id=order_id)
                emitted[order_id].append(str(env.event_id))

        await asyncio.gather(*(writer(order_id) for order_id in orders))
        transactions = sum(len(ids) for ids in emitted.values())
        await tail.wait_for(lambda r: r.key and r.key.decode() in orders, count=transactions)
        passes = relay.passes - passes_before
        await asyncio.sleep(0.5)  # anything extra would be a duplicate: give it a chance to show
        await tail.poll()
    for order_id in orders:
        published = [r.json()["event_id"] for r in tail.records if r.key == order_id.encode()]
        assert published == emitted[order_id], "each event once, in the order it was committed"
    assert passes < transactions / 2, f"{passes} passes for {transactions} transactions"


async def test_a_stop_under_load_leaves_nothing_published_and_unmarked(
    infra: Infra, database: str, tail: TopicTail
) -> None:
    """A graceful stop while events are being committed: the relay ends its pass, so every
    row it published is marked sent and the next leader sends none of them again."""
    definition = build(settings_for(OrderSettings, infra.bootstrap, database))
    orders = [new_order_id() for _ in range(4)]
    async with running(definition, http=False) as runtime:
        stop = asyncio.Event()

        async def writer(order_id: str) -> None:
            while not stop.is_set():
                async with runtime.unit() as unit:
                    await unit.emit(OrderCompleted(confirmed_by="customer"), order_id=order_id)

        writers = [asyncio.ensure_future(writer(order_id)) for order_id in orders]
        await tail.wait_for(lambda r: r.key and r.key.decode() in orders, count=40)
        await runtime._stop_relay()  # the stop sequence's step, while the writers commit
        stop.set()
        await asyncio.gather(*writers, return_exceptions=True)
        unmarked = await runtime.db.fetch("SELECT event_id FROM outbox WHERE sent_at IS NULL")
        await asyncio.sleep(1)  # what was sent is on the topic by now
        await tail.poll()
    published = set(_event_ids(tail.records, set(orders)))
    assert published, "nothing was published before the stop"
    again = published & {row["event_id"] for row in unmarked}
    assert not again, f"{len(again)} rows published and left unmarked: sent again later"
