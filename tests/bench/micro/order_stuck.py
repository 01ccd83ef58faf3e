"""What finding stuck orders costs the order service: per save, and per idle check.

    FULFIL_TEST_KEEP_STACK=1 .venv/bin/python -m tests.bench.micro.order_stuck [orders]

On a fresh database of the test stack with `orders` orders (default 5 000) spread over
every stage, prints, each beside its baseline measured in the same run (the machine is
shared, so only figures taken side by side compare):

- the Python of one save: the order's changing columns with the four stage anchors
  (`domain.stuck.anchors`) against the same columns without them;
- one save (`repository.save`, its own transaction) with the four partial indexes
  against the same save once they are dropped, best of alternating rounds;
- one idle check (`count_stuck`: nothing stuck) through the indexes, and the same
  query once they are dropped (a scan of the orders).
"""

from __future__ import annotations

import asyncio
import sys
import time
import timeit
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from services.order import repository
from services.order.app import MIGRATIONS
from services.order.domain import reactions
from services.order.domain.order import Entry, Order, Stage
from services.order.domain.stuck import Thresholds
from services.order.stuck import thresholds_of
from shared import db
from tests.support.infra import start_infra
from tests.unit.order.test_domain import order as new_order
from tests.unit.order.test_domain import pay

ROUNDS = 7
CALLS = 5_000
SAVES = 400
INDEXES = ("orders_awaiting_request", "orders_ship_by", "orders_silent", "orders_refund_waiting")


def _an_order(i: int) -> Order:
    o = new_order()
    o.order_id = f"ord_bench_{i}"
    o.placed_at = datetime.now(UTC) - timedelta(milliseconds=i)  # none stuck yet
    if i % 4 == 0:
        return o
    o.payment = {"attempt_id": f"a{i}"}
    pay(o)
    reactions.stock_reserved(o, date.today() + timedelta(days=3), o.placed_at)
    if i % 4 >= 2:
        at = datetime.now(UTC)
        reactions.shipment_moved(o, Stage.SHIPPED, {"shipment_id": f"s{i}"}, Entry("s", at, "x"))
    if i % 4 == 3:
        details = {"amount": 1, "currency": "CNY", "flow": "after_delivery"}
        reactions.refund_requested(o, f"rr{i}", "after_delivery", datetime.now(UTC), details)
    return o


def _python(order: Order) -> None:
    now = datetime.now(UTC)
    with_anchors = min(
        timeit.repeat(lambda: repository._changes(order, now), number=CALLS, repeat=ROUNDS)
    )
    without = min(
        timeit.repeat(lambda: repository._changes(order, now)[:-4], number=CALLS, repeat=ROUNDS)
    )
    anchors = min(timeit.repeat(lambda: repository._anchors(order), number=CALLS, repeat=ROUNDS))
    print(f"save's columns (python)     {(without - anchors) / CALLS * 1e6:7.2f} -> "
          f"{with_anchors / CALLS * 1e6:7.2f} µs/save")  # fmt: skip


async def _best(run: Callable[[], Awaitable[Any]], calls: int) -> float:
    best = float("inf")
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for _ in range(calls):
            await run()
        best = min(best, (time.perf_counter() - started) / calls)
    return best * 1e6


async def main(count: int, dsn: str) -> None:
    pool = await db.create_pool(dsn, size=2)
    async with pool.acquire() as conn:
        await db.apply_migrations(conn, db.all_migrations("order", MIGRATIONS))
        orders = [_an_order(i) for i in range(count)]
        for o in orders:
            await repository.insert(conn, o, [])
        await conn.execute("ANALYZE orders")
        sample = orders[1]
        _python(sample)
        limits = thresholds_of(Thresholds())

        async def save() -> None:
            async with conn.transaction():
                await repository.save(conn, sample, datetime.now(UTC), [])

        async def idle_check() -> None:
            await repository.count_stuck(conn, limits, datetime.now(UTC))

        indexed_save = indexed_check = float("inf")
        plain_save = plain_check = float("inf")
        definitions = {
            name: await conn.fetchval("SELECT pg_get_indexdef($1::regclass)", name)
            for name in INDEXES
        }
        for _ in range(3):  # alternate: with the indexes, then without
            indexed_save = min(indexed_save, await _best(save, SAVES))
            indexed_check = min(indexed_check, await _best(idle_check, 50))
            for name in INDEXES:
                await conn.execute(f"DROP INDEX {name}")
            plain_save = min(plain_save, await _best(save, SAVES))
            plain_check = min(plain_check, await _best(idle_check, 50))
            for definition in definitions.values():
                await conn.execute(definition)
        print(f"save (one transaction)      {plain_save:7.1f} -> {indexed_save:7.1f} µs/save"
              "  (without -> with the stage indexes)")  # fmt: skip
        print(f"idle check, {count} orders   {plain_check:7.1f} -> {indexed_check:7.1f} µs"
              "  (scan -> the stage indexes)")  # fmt: skip
    await pool.close()


if __name__ == "__main__":
    infra = start_infra()
    database = asyncio.run(infra.create_database("bench_stuck"))
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 5_000, database))
