"""The happy path under load: placed, paid at once, shipped at once, delivered at once.

Orders are placed over HTTP (open loop at a target rate, or as fast as
`concurrency` clients go); each checkout is completed through the sandbox
provider as soon as its PaymentRequested shows up on payments.v1; the sandbox
carrier's auto-advance delivers. Latencies come from the events on the topics.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from typing import Any

import asyncpg
import httpx

from deploy.demo.shop import Shop, ShopError, order_body
from deploy.demo.topics import TopicTap
from tests.bench.latency import DECODED, LatencyTracker
from tests.bench.samplers import MetricsSampler, ProcessSampler

MAX_IN_FLIGHT = 256
# A closed-loop customer gives up waiting for an order after this long (and says so).
JOURNEY_TIMEOUT_S = 120.0
MAX_PLOT_POINTS = 4000
IDLE_BASELINE_S = 3.0
IDLE_SETTLE_S = 3.0
WARMUP_SETTLE_S = 2.0  # after the warm-up's drain: its last relay passes and commits
PACING_S = 0.01  # the open loop wakes at most this often and places every order then due
# bodies the driver reads: the tracker's, and PaymentRequested for the checkout url
TRACKED_TYPES = DECODED | {"PaymentRequested"}


async def database_commits(admin_dsn: str, databases: list[str]) -> int:
    conn = await asyncpg.connect(admin_dsn)
    try:
        value = await conn.fetchval(
            "SELECT coalesce(sum(xact_commit), 0) FROM pg_stat_database WHERE datname = ANY($1)",
            databases,
        )
    finally:
        await conn.close()
    return int(value)


class Phase:
    def __init__(self, shop: Shop, tap: TopicTap, seed: int = 8) -> None:
        self.shop = shop
        self.tap = tap
        self.tracker = LatencyTracker(orders=set())
        self.rng = random.Random(seed)
        self.checkout_urls: dict[str, str] = {}
        self.placed_ids: set[str] = set()
        self.paid_requested: set[str] = set()
        self.errors: list[str] = []
        self.in_flight = asyncio.Semaphore(MAX_IN_FLIGHT)
        self.waiting: dict[str, asyncio.Event] = {}  # closed loop: orders their client awaits
        self.tasks: set[asyncio.Task[Any]] = set()
        self.late_starts = 0

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def observe(self) -> None:
        async for batch in self.tap.batches(timeout_ms=100):
            self.tracker.add(batch)
            for record in batch:
                waiter = self.waiting.get(record.order_id or "")
                if waiter is not None and self._done(record.order_id or ""):
                    waiter.set()
                if record.type == "PaymentRequested" and record.order_id:
                    url = record.payload.get("checkout_url")
                    if url:
                        self.checkout_urls[record.order_id] = url
                        self._maybe_pay(record.order_id)

    def _maybe_pay(self, order_id: str) -> None:
        ready = order_id in self.placed_ids and order_id in self.checkout_urls
        if ready and order_id not in self.paid_requested:
            self.paid_requested.add(order_id)
            self._spawn(self._pay(order_id))

    async def _pay(self, order_id: str) -> None:
        try:
            await self.shop.complete_checkout(self.checkout_urls[order_id], "succeed")
        except (ShopError, httpx.HTTPError, OSError) as exc:
            self.errors.append(f"pay {order_id}: {exc}")

    async def place_one(self) -> str | None:
        async with self.in_flight:
            body = order_body(self.rng, "card", lines=1, quantity=1)
            try:
                answer = await self.shop.place_order(body)
            except (ShopError, httpx.HTTPError, OSError) as exc:
                self.errors.append(f"place: {exc}")
                return None
            order_id = str(answer.get("order_id") or answer.get("id"))
            self.placed_ids.add(order_id)
            assert self.tracker.orders is not None
            self.tracker.orders.add(order_id)
            self._maybe_pay(order_id)
            return order_id

    async def open_loop(self, rate: float, duration: float) -> None:
        """Order i is due at i / rate; each wake-up places every order then due."""
        started = time.monotonic()
        count = int(rate * duration)
        i = 0
        while i < count:
            now = time.monotonic()
            while i < count and started + i / rate <= now:
                if now - (started + i / rate) > 0.05:
                    self.late_starts += 1
                self._spawn(self.place_one())
                i += 1
            if i < count:
                await asyncio.sleep(max(PACING_S, started + i / rate - time.monotonic()))

    async def closed_loop(self, concurrency: int, duration: float) -> None:
        """`concurrency` customers, each placing its next order once the last one is
        delivered and confirmed: the orders in flight stay bounded, so what is measured is
        what the system completes, not a backlog it has not reached by the end."""
        deadline = time.monotonic() + duration

        async def client() -> None:
            while time.monotonic() < deadline:
                order_id = await self.place_one()
                if order_id is not None:
                    await self._until_done(order_id)

        await asyncio.gather(*(client() for _ in range(concurrency)))

    async def _until_done(self, order_id: str) -> None:
        waiter = self.waiting[order_id] = asyncio.Event()
        try:
            if not self._done(order_id):
                await asyncio.wait_for(waiter.wait(), JOURNEY_TIMEOUT_S)
        except TimeoutError:
            self.errors.append(f"{order_id}: not completed within {JOURNEY_TIMEOUT_S:.0f} s")
        finally:
            del self.waiting[order_id]

    def _done(self, order_id: str) -> bool:
        reached = self.tracker.milestones(order_id)
        return "delivered" in reached and "confirmation" in reached

    def completed(self) -> list[str]:
        return [oid for oid in self.placed_ids if self._done(oid)]

    async def drain(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.completed()) >= len(self.placed_ids) and not self.tasks:
                return
            await asyncio.sleep(0.5)

    def sustained(self, completed: list[str]) -> float | None:
        if not completed:
            return None
        first = min(
            self.tracker.placed[oid][0] for oid in self.placed_ids if oid in self.tracker.placed
        )
        last = max(max(self.tracker.milestones(oid).values()) for oid in completed)
        span = (last - first).total_seconds()
        return round(len(completed) / span, 2) if span > 0 else None


async def run_phase(
    name: str,
    shop: Shop,
    bootstrap: str,
    *,
    rate: float | None,
    concurrency: int,
    duration: float,
    drain_timeout: float,
    processes: dict[str, tuple[int, bool]],
    metrics_urls: dict[str, str],
    admin_dsn: str,
    databases: list[str],
    idle_s: float = 0.0,
    warmup_s: float = 0.0,
    log: Any = print,
) -> dict[str, Any]:
    """One load phase on a fresh stack. With `idle_s`, the idle stack is measured first
    for that long (CPU per process and commits/s, reported as `idle`). With `warmup_s`,
    closed-loop load runs that long and is drained before anything is counted."""
    # the services commit while idle too (outbox, timer and sender polls): measure that first;
    # the phase's own CPU is counted from after it
    proc = ProcessSampler(processes)
    idle = await measure_idle(
        proc, admin_dsn, databases, idle_s or IDLE_BASELINE_S, settle=IDLE_SETTLE_S if idle_s else 0
    )
    idle_rate = idle["commits_per_s"]
    warmup = (
        await warm_up(shop, bootstrap, concurrency, warmup_s, drain_timeout, log)
        if warmup_s
        else None
    )
    tap = await started_tap(bootstrap)
    phase = Phase(shop, tap)
    observer = asyncio.create_task(phase.observe())
    stop = asyncio.Event()
    metrics = MetricsSampler(metrics_urls)
    samplers = [asyncio.create_task(proc.run(stop)), asyncio.create_task(metrics.run(stop))]
    commits_before = await database_commits(admin_dsn, databases)
    mode = f"open loop at {rate}/s" if rate else f"max throughput, {concurrency} clients"
    log(f"{name}: {mode} for {duration:.0f} s ...")
    started = time.monotonic()
    try:
        if rate:
            await phase.open_loop(rate, duration)
        else:
            await phase.closed_loop(concurrency, duration)
        placing = time.monotonic() - started
        log(f"{name}: placed {len(phase.placed_ids)} in {placing:.1f} s; draining ...")
        await phase.drain(drain_timeout)
        await asyncio.sleep(1.5)  # the last stats and metrics samples settle
    finally:
        stop.set()
        await asyncio.gather(*samplers)
        await stop_observing(phase, observer)
    commits = await database_commits(admin_dsn, databases) - commits_before
    busy_commits = max(0.0, commits - idle_rate * (time.monotonic() - started))
    completed = phase.completed()
    placed = len(phase.placed_ids)
    samples = phase.tracker.samples()
    step = max(1, sum(len(v) for v in samples.values()) // MAX_PLOT_POINTS)
    latency = phase.tracker.summary()
    processes = proc.summary()
    result: dict[str, Any] = {
        "mode": "open_loop" if rate else "max_throughput",
        "target_rate": rate,
        "concurrency": None if rate else concurrency,
        "duration_s": duration,
        "placed": placed,
        "placement_errors": sum(1 for e in phase.errors if e.startswith("place")),
        "payment_errors": sum(1 for e in phase.errors if e.startswith("pay")),
        "first_errors": phase.errors[:5],
        "late_starts": phase.late_starts,
        "placing_s": round(placing, 2),
        "placement_rate": round(placed / placing, 2) if placing else None,
        "completed": len(completed),
        "sustained_orders_per_s": phase.sustained(completed),
        "events": phase.tracker.records,
        "events_by_type": dict(phase.tracker.records_by_type.most_common()),
        "mean_event_bytes": round(phase.tracker.record_bytes / phase.tracker.records)
        if phase.tracker.records
        else None,
        "events_per_order": round(phase.tracker.records / placed, 2) if placed else None,
        "commits": commits,
        "idle_commits_per_s": round(idle_rate, 1),
        **({"idle": idle} if idle_s else {}),
        "warmup": warmup,
        "commits_per_order_raw": round(commits / placed, 2) if placed else None,
        "commits_per_order": round(busy_commits / placed, 2) if placed else None,
        "latency": latency,
        "processes": processes,
        "cpu_ms_per_order": cpu_ms_per_order(processes, len(completed), placed),
        "metrics": metrics.summary(),
        "process_series": proc.series,
        "metrics_series": metrics.series,
        "samples": {stage: points[::step] for stage, points in samples.items()},
    }
    log(
        f"{name}: {len(completed)}/{placed} completed; sustained "
        f"{result['sustained_orders_per_s']} orders/s; p99 to confirmation "
        f"{latency['confirmation']['p99_ms']} ms"
    )
    return result


DRIVER = "bench-driver"


async def started_tap(bootstrap: str) -> TopicTap:
    """The driver's reader of the topics. Fuller fetches: at 200 orders/s 64 kB is ~15 ms
    of records; at low rates the wait delays only the checkout step (latencies come from
    the events' own times)."""
    tap = TopicTap(bootstrap, decode=TRACKED_TYPES, fetch_min_bytes=64 * 1024, fetch_max_wait_ms=50)
    await tap.start()
    return tap


async def stop_observing(phase: Phase, observer: asyncio.Task[None]) -> None:
    """Ends a phase's reading of the topics and its clients' tasks still running."""
    observer.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await observer
    await phase.tap.stop()
    for task in list(phase.tasks):
        task.cancel()


async def warm_up(
    shop: Shop, bootstrap: str, concurrency: int, seconds: float, drain_timeout: float, log: Any
) -> dict[str, Any]:
    """Closed-loop orders for `seconds`, drained, none of it counted. A fresh stack is not
    the stack a shop runs: the broker's JVM compiles its hot paths during its first minute
    under load (its C2 compiler thread took half the broker's CPU in a fresh 10 s phase,
    still a fifth after 50 s), and every pooled connection prepares each statement on its
    first use. The phase then measures the running system, as a shop's would be."""
    tap = await started_tap(bootstrap)
    phase = Phase(shop, tap, seed=7)
    observer = asyncio.create_task(phase.observe())
    log(f"warm-up: {concurrency} clients for {seconds:.0f} s, not counted ...")
    try:
        await phase.closed_loop(concurrency, seconds)
        await phase.drain(drain_timeout)
    finally:
        await stop_observing(phase, observer)
    await asyncio.sleep(WARMUP_SETTLE_S)
    placed, completed = len(phase.placed_ids), len(phase.completed())
    log(f"warm-up: {completed}/{placed} completed")
    return {"seconds": seconds, "placed": placed, "completed": completed}


async def measure_idle(
    proc: ProcessSampler, admin_dsn: str, databases: list[str], seconds: float, settle: float
) -> dict[str, Any]:
    """The stack with no load: CPU cores per process and in total (the driver apart), and
    the commits/s of the services' databases, over `seconds` after `settle` seconds."""
    await asyncio.sleep(settle)
    cpu_before = proc.cpu_now()
    commits_before = await database_commits(admin_dsn, databases)
    started = time.monotonic()
    await asyncio.sleep(seconds)
    cpu_after = proc.cpu_now()
    commits = await database_commits(admin_dsn, databases) - commits_before
    elapsed = time.monotonic() - started
    cores = {name: round((cpu_after[name] - cpu_before[name]) / elapsed, 4) for name in cpu_after}
    system = round(sum(c for name, c in cores.items() if name != DRIVER), 3)
    return {
        "seconds": round(elapsed, 2),
        "system_cores": system,
        "commits_per_s": round(commits / elapsed, 2),
        "cores": cores,
    }


def cpu_ms_per_order(processes: dict[str, Any], completed: int, placed: int = 0) -> dict[str, Any]:
    """CPU milliseconds per completed order: each process, the system's total (every
    service, the broker, the database and the sinks) and the load driver's own, apart;
    and the driver's per placed order (its own cost, whether or not the system kept up)."""
    driver_per_placed = (
        round(processes[DRIVER]["cpu_s"] * 1000 / placed, 2)
        if placed and DRIVER in processes
        else None
    )
    if not completed:
        return {
            "processes": {},
            "system_total": None,
            "driver": None,
            "driver_per_placed": driver_per_placed,
        }
    per = {name: round(row["cpu_s"] * 1000 / completed, 2) for name, row in processes.items()}
    system = round(sum(ms for name, ms in per.items() if name != DRIVER), 2)
    return {
        "processes": per,
        "system_total": system,
        "driver": per.get(DRIVER),
        "driver_per_placed": driver_per_placed,
    }
