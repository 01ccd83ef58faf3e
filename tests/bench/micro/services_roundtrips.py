"""Database round trips and commits per order, per service, for the happy path.

Runs order, payment, logistics and returns in this process on the tests' broker and
fresh databases (the test stack; `FULFIL_TEST_KEEP_STACK=1` keeps it up), drives orders
one after the other through the public edges (the shop places the order, the sandbox
checkout pays it, the sandbox courier walks the parcel to the door with its signed
webhooks, the customer confirms receipt) and counts, per service database, every call
asyncpg makes to the server (a statement, executemany's batch, BEGIN and COMMIT: one
round trip each), the commits, and the statements run outside a transaction
(autocommits). What the script itself reads to wait is not counted; the background loops'
idle work (housekeeping, polls) is measured on the idle stack first and subtracted.

    FULFIL_TEST_KEEP_STACK=1 .venv/bin/python -m tests.bench.micro.services_roundtrips \
        [orders] [--statements]

Prints one line per service: round trips, commits and autocommits per order (and, with
`--statements`, every statement with its calls per order).
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import asyncpg
import httpx
from asyncpg.connection import Connection

from services.logistics.app import build as build_logistics
from services.logistics.settings import LogisticsSettings
from services.order.app import build as build_order
from services.order.settings import OrderSettings
from services.payment.app import build as build_payment
from services.payment.settings import PaymentSettings
from services.returns.app import build as build_returns
from services.returns.settings import ReturnsSettings
from shared.runtime import Runtime
from tests.support.http import OPS, SHOP
from tests.support.infra import Infra, start_infra
from tests.support.services import base_url, service

SERVICES = ("order", "payment", "logistics", "returns")
QUIET = {"outbox_poll_seconds": 60.0, "timer_poll_seconds": 60.0}
SKU = "BENCH-TEE"
COUNTS: dict[str, Counter[str]] = defaultdict(Counter)
STATEMENTS: dict[str, Counter[str]] = defaultdict(Counter)  # service -> statement -> calls
UNCOUNTED: set[int] = set()  # the script's own connections (waiting is not the services')


def _counting(name: str) -> None:
    original = getattr(Connection, name)

    async def counted(self: Connection, *args: Any, **kwargs: Any) -> Any:
        if id(self) not in UNCOUNTED:
            tally = COUNTS[self._params.database.split("_")[0]]
            tally["round_trips"] += 1
            query = str(args[0]).strip().upper() if args else ""
            STATEMENTS[self._params.database.split("_")[0]][" ".join(query.split())[:90]] += 1
            if query.startswith("COMMIT"):
                tally["commits"] += 1
            elif not self.is_in_transaction() and not query.startswith(("BEGIN", "ROLLBACK")):
                tally["autocommits"] += 1
                tally["commits"] += 1
        return await original(self, *args, **kwargs)

    setattr(Connection, name, counted)


for _method in ("execute", "executemany", "fetch", "fetchrow", "fetchval"):
    _counting(_method)


def snapshot() -> dict[str, Counter[str]]:
    return {name: Counter(COUNTS[name]) for name in SERVICES}


async def until(check: Callable[[], Awaitable[Any]], what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = await check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout}s for {what}")
        await asyncio.sleep(0.05)


@asynccontextmanager
async def system(infra: Infra) -> AsyncIterator[dict[str, tuple[Runtime, str]]]:
    kinds: dict[str, tuple[Any, Any, dict[str, Any]]] = {
        "order": (build_order, OrderSettings, {}),
        "payment": (build_payment, PaymentSettings, {"effects_poll_seconds": 60.0}),
        "logistics": (build_logistics, LogisticsSettings, {"sandbox_auto_advance_seconds": 0}),
        "returns": (build_returns, ReturnsSettings, {}),
    }
    async with AsyncExitStack() as stack:
        running: dict[str, tuple[Runtime, str]] = {}
        for name, (build, settings, extra) in kinds.items():
            dsn = await infra.create_database(name)
            runtime = await stack.enter_async_context(
                service(build, settings, infra, dsn, **QUIET, **extra)
            )
            running[name] = (runtime, dsn)
        yield running


class Journey:
    def __init__(self, running: dict[str, tuple[Runtime, str]], http: httpx.AsyncClient):
        self.urls = {name: base_url(runtime) for name, (runtime, _) in running.items()}
        self.http = http
        self.db: dict[str, asyncpg.Connection] = {}
        self.dsns = {name: dsn for name, (_, dsn) in running.items()}

    async def open(self) -> None:
        for name, dsn in self.dsns.items():
            conn = await asyncpg.connect(dsn)
            UNCOUNTED.add(id(conn))
            self.db[name] = conn

    async def close(self) -> None:
        for conn in self.db.values():
            await conn.close()

    async def value(self, service: str, sql: str, *args: Any) -> Any:
        return await self.db[service].fetchval(sql, *args)

    async def stock(self) -> None:
        body = {"on_hand": 1_000_000, "low_stock_threshold": 0}
        url = f"{self.urls['logistics']}/v1/stock/{SKU}"
        (await self.http.put(url, json=body, headers=OPS)).raise_for_status()

    async def one_order(self) -> None:
        body = {
            "items": [{"sku": SKU, "name": "Tee", "quantity": 1, "unit_price": 7_900}],
            "currency": "CNY",
            "customer_id": f"cus_{uuid.uuid4().hex[:8]}",
            "contact": {"phone": "+86 138 0013 8000", "email": "li.wei@example.com"},
            "address": {"recipient": "Li", "line1": "1 Rd", "city": "Shanghai", "country": "CN"},
            "locale": "zh-CN",
            "payment_method": "wallet",
        }
        headers = {**SHOP, "Idempotency-Key": uuid.uuid4().hex}
        placed = await self.http.post(f"{self.urls['order']}/v1/orders", json=body, headers=headers)
        placed.raise_for_status()
        order_id = placed.json()["order_id"]
        checkout = await until(
            lambda: self.value(
                "payment",
                "SELECT checkout_url FROM attempts WHERE order_id = $1 AND status = 'open'",
                order_id,
            ),
            "the checkout page",
        )
        paid = await self.http.post(f"{checkout.rstrip('/')}/complete", json={"outcome": "succeed"})
        paid.raise_for_status()
        courier, tracking = await until(
            lambda: self.db["logistics"].fetchrow(
                """SELECT courier, tracking_number FROM shipments
                   WHERE order_id = $1 AND tracking_number IS NOT NULL""",
                order_id,
            ),
            "the parcel shipped",
        )
        for step in range(1, 6):
            url = f"{self.urls['logistics']}/sandbox/carriers/{courier}/parcels/{tracking}/advance"
            (await self.http.post(url)).raise_for_status()
            await until(
                lambda step=step: self.value(  # type: ignore[misc]
                    "logistics",
                    """SELECT count(*) >= $2 FROM checkpoints c JOIN shipments s
                       USING (shipment_id) WHERE s.order_id = $1""",
                    order_id,
                    step,
                ),
                "the checkpoint",
            )
        await until(
            lambda: self.value(
                "order", "SELECT stage = 'delivered' FROM orders WHERE order_id = $1", order_id
            ),
            "the order delivered",
        )
        url = f"{self.urls['order']}/v1/orders/{order_id}/confirm-receipt"
        (await self.http.post(url, headers=SHOP)).raise_for_status()
        await self.settled()

    async def settled(self) -> None:
        """Until every outbox is published and no consumer has taken anything for 1 s."""

        async def state() -> tuple[int, ...]:
            counts = []
            for name in SERVICES:
                counts.append(
                    await self.value(name, "SELECT count(*) FROM outbox WHERE sent_at IS NULL")
                )
                counts.append(await self.value(name, "SELECT count(*) FROM inbox"))
            return tuple(counts)

        last, since = await state(), time.monotonic()
        while time.monotonic() - since < 1.0 or any(last[0::2]):
            await asyncio.sleep(0.1)
            now = await state()
            if now != last:
                last, since = now, time.monotonic()


def _per_order(
    before: dict[str, Counter[str]],
    after: dict[str, Counter[str]],
    idle: dict[str, Counter[str]],
    idle_seconds: float,
    seconds: float,
    orders: int,
) -> dict[str, dict[str, float]]:
    table: dict[str, dict[str, float]] = {}
    for name in SERVICES:
        row = {}
        for key in ("round_trips", "commits", "autocommits"):
            spent = after[name][key] - before[name][key]
            background = idle[name][key] * seconds / idle_seconds
            row[key] = (spent - background) / orders
        table[name] = row
    return table


async def main(infra: Infra, orders: int) -> None:
    async with system(infra) as running, httpx.AsyncClient(timeout=30) as http:
        journey = Journey(running, http)
        await journey.open()
        try:
            await journey.stock()
            await journey.one_order()  # warm-up: connections, prepared statements, groups
            idle_seconds = 10.0
            start = snapshot()
            await asyncio.sleep(idle_seconds)
            end = snapshot()
            idle = {name: end[name] - start[name] for name in SERVICES}
            STATEMENTS.clear()
            before, began = snapshot(), time.monotonic()
            print("-- measured orders begin", flush=True)  # log lines between: the orders'
            for _ in range(orders):
                await journey.one_order()
            print("-- measured orders end", flush=True)
            after, seconds = snapshot(), time.monotonic() - began
        finally:
            await journey.close()
    table = _per_order(before, after, idle, idle_seconds, seconds, orders)
    print(f"{orders} orders in {seconds:.1f}s; per order (idle background subtracted):")
    print(f"{'service':<10} {'round trips':>12} {'commits':>8} {'autocommits':>12}")
    for name, row in table.items():
        print(
            f"{name:<10} {row['round_trips']:>12.1f} {row['commits']:>8.1f}"
            f" {row['autocommits']:>12.1f}"
        )
    total = {k: sum(row[k] for row in table.values()) for k in ("round_trips", "commits")}
    print(f"{'total':<10} {total['round_trips']:>12.1f} {total['commits']:>8.1f}")
    idle_line = ", ".join(
        f"{name} {idle[name]['round_trips'] / idle_seconds:.1f}" for name in SERVICES
    )
    print(f"idle round trips/s: {idle_line}")
    if "--statements" in sys.argv:
        for name in SERVICES:
            print(f"-- {name}: calls per order (background included)")
            for query, calls in STATEMENTS[name].most_common():
                print(f"{calls / orders:6.1f}  {query}")


if __name__ == "__main__":
    counts = [int(arg) for arg in sys.argv[1:] if arg.isdigit()]
    asyncio.run(main(start_infra(), counts[0] if counts else 5))
