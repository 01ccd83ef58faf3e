"""What the outbox relay costs per transaction it publishes.

Writers commit `--transactions` transactions of one outbox row each (a few writers at
once, paced like a service under load) while the relay runs; the figures are the
statements the relay runs on its pool (each, outside a transaction, is one commit), its
passes (when the relay counts them) and its CPU per published row: the process's CPU
minus that of the same writers with no relay running.

    FULFIL_TEST_KEEP_STACK=1 .venv/bin/python -m tests.bench.micro.outbox_relay
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka.admin import NewTopic

from shared import db, outbox
from shared.kafka.admin import create_missing
from shared.logging import configure_logging
from tests.support.infra import Infra, start_infra

TOPIC = "bench.relay.v1"


class Counted:
    """The relay's pool, counting the statements the relay runs on it."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.statements = 0

    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator[Any]:
        async with self.pool.acquire() as conn:
            yield _CountingConnection(conn, self)


class _CountingConnection:
    def __init__(self, conn: asyncpg.Connection, counts: Counted) -> None:
        self._conn, self._counts = conn, counts

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._conn, name)
        if name in ("fetch", "fetchrow", "fetchval", "execute", "executemany"):
            self._counts.statements += 1
        return attr


async def write(pool: asyncpg.Pool, transactions: int, writers: int, rate: float) -> None:
    """`transactions` commits of one row each, `writers` at a time, `rate` per second."""
    interval = writers / rate

    async def writer(w: int) -> None:
        for i in range(w, transactions, writers):
            started = time.monotonic()
            async with pool.acquire() as conn, conn.transaction():
                key = f"k{i % 16}".encode()
                await outbox.add_raw(conn, topic=TOPIC, key=key, value=b"{}", headers=[])
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))

    await asyncio.gather(*(writer(w) for w in range(writers)))


async def unsent(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL"))


async def main(infra: Infra, transactions: int, writers: int, rate: float) -> None:
    await create_missing(infra.bootstrap, lambda _: [NewTopic(TOPIC, 4, 1)])
    dsn = await infra.create_database(prefix="relay")
    pool = await db.create_pool(dsn, size=writers + 2)
    producer = outbox.make_producer(infra.bootstrap, "bench-relay")
    await producer.start()
    try:
        async with pool.acquire() as conn:
            await db.apply_migrations(conn, db.all_migrations("bench", Path("no-migrations")))
        cpu = time.process_time()
        await write(pool, transactions, writers, rate)
        writers_cpu = time.process_time() - cpu
        await pool.execute("UPDATE outbox SET sent_at = now()")

        counted = Counted(pool)
        relay = outbox.OutboxRelay(counted, dsn, producer)  # type: ignore[arg-type]
        task = asyncio.ensure_future(relay.run())
        await asyncio.sleep(1.0)  # leads, listens, finds nothing
        counted.statements = 0
        cpu = time.process_time()
        await write(pool, transactions, writers, rate)
        deadline = time.monotonic() + 30
        while await unsent(pool) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        relay_cpu = time.process_time() - cpu - writers_cpu
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        left = await unsent(pool)
        passes = getattr(relay, "passes", None)
        print(f"{transactions} transactions, {writers} writers at {rate:.0f}/s, left {left}")
        print(f"relay statements: {counted.statements}, passes: {passes}")
        print(f"relay CPU: {relay_cpu * 1e6 / transactions:.0f} us per row")
    finally:
        await producer.stop()
        await pool.close()
        infra.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--transactions", type=int, default=1000)
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--rate", type=float, default=400.0)
    args = parser.parse_args()
    configure_logging("bench", fmt="console", level="WARNING")
    asyncio.run(main(start_infra(), args.transactions, args.writers, args.rate))
