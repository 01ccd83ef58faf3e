"""CPU per consumed record, through the consumer the runtime starts, against the test stack.

    FULFIL_TEST_KEEP_STACK=1 .venv/bin/python -m tests.bench.micro.consumer_cpu \
        [--records 3000] [--rate 0] [--mode ignored|handled|both]

For each mode a consumer group of its own is placed at the end of `orders.v1` and the
service's consumer (the one `shared.runtime` starts) runs a processor whose
handler table ignores OrderPlaced (`ignored`) or handles it with a handler that does nothing
(`handled`: decoding, the inbox insert and the commit remain). A warm-up batch proves the
group has joined; then a child process publishes the records (its CPU is not ours) with the
outbox's headers, and this process's CPU time (every thread) is read from the first record
to the last one counted. The idle cost of the consumer over the same wall time, measured
just before, is subtracted as well and shown apart. `--rate` paces the publisher (records/s;
0: as fast as it goes), which sets how many records each poll brings.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer

from shared import db
from shared.consumer import MessageProcessor
from shared.contracts.envelope import Envelope
from shared.contracts.events.order import OrderPlaced
from shared.contracts.registry import topic
from shared.kafka.agents import ServiceConsumer
from shared.messages import Handlers, Incoming, RawMessage
from shared.unit import Unit, Units
from tests.support.events import placed
from tests.support.infra import REPO, Infra, start_infra
from tests.support.kafka import start_group_at_end

TOPIC = "orders.v1"
WARM_UP = 50


async def nothing(_unit: Unit[Any], _msg: Incoming[Any]) -> None:
    return None


class Counting(MessageProcessor):
    """The service's processor, counting what it finished (no polling of the metrics)."""

    done = 0
    target = 0
    reached: asyncio.Event

    async def process_batch(self, raws: Sequence[RawMessage]) -> list[str]:
        outcomes = await super().process_batch(raws)
        self.done += len(outcomes)
        if self.done >= self.target:
            self.reached.set()
        return outcomes

    async def until(self, count: int, deadline: float = 120.0) -> None:
        self.target, self.reached = count, asyncio.Event()
        if self.done < count:
            async with asyncio.timeout(deadline):
                await self.reached.wait()


def publish_in_child(bootstrap: str, records: int, rate: float) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-m", "tests.bench.micro.consumer_cpu", "--publish", str(records),
            "--rate", str(rate), "--bootstrap", bootstrap]  # fmt: skip
    return subprocess.Popen(args, cwd=REPO)


async def publish(bootstrap: str, records: int, rate: float) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=2)
    await producer.start()
    declared = topic(TOPIC)
    try:
        pending = []
        order = placed()
        envelopes = [
            Envelope.wrap(order, producer="order", order_id=f"ord_{uuid.uuid4().hex}")
            for _ in range(records)
        ]
        started = time.monotonic()
        for n, envelope in enumerate(envelopes):
            pending.append(
                await producer.send(
                    TOPIC,
                    envelope.to_bytes(),
                    key=declared.key_of(envelope).encode(),
                    headers=envelope.headers(),
                )
            )
            if rate:
                ahead = started + (n + 1) / rate - time.monotonic()
                if ahead > 0:
                    await asyncio.sleep(ahead)  # pacing a publisher, not waiting for a result
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


async def run_mode(bootstrap: str, dsn: str, mode: str, records: int, rate: float) -> dict:
    handlers: Handlers = {OrderPlaced: nothing} if mode == "handled" else {}
    suffix = f"-bench-{uuid.uuid4().hex[:8]}"
    group = f"fulfil-probe{suffix}"
    await start_group_at_end(bootstrap, group, [TOPIC])
    pool = await db.create_pool(dsn, size=4)
    processor = Counting("probe", pool, handlers, Units("probe", deps=None))
    consumer = ServiceConsumer("probe", bootstrap, (topic(TOPIC),), processor, group_suffix=suffix)
    await consumer.start()
    running = asyncio.ensure_future(consumer.run())
    try:
        child = publish_in_child(bootstrap, WARM_UP, 0)
        await processor.until(WARM_UP)
        child.wait()
        idle_started, idle_cpu = time.monotonic(), time.process_time()
        await asyncio.sleep(2.0)  # the consumer's own idle cost, measured over a fixed time
        idle_rate = (time.process_time() - idle_cpu) / (time.monotonic() - idle_started)
        child = publish_in_child(bootstrap, records, rate)
        await processor.until(WARM_UP + 1)
        wall, cpu, first = time.monotonic(), time.process_time(), processor.done
        await processor.until(WARM_UP + records)
        measured = processor.done - first
        wall, cpu = time.monotonic() - wall, time.process_time() - cpu
        child.wait()
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await pool.close()
    per_record = (cpu - idle_rate * wall) / measured
    return {
        "mode": mode,
        "records": records,
        "rate": rate,
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "idle_core": round(idle_rate, 4),
        "records_per_s": round(measured / wall),
        "cpu_us_per_record": round(per_record * 1e6, 1),
        "cpu_us_per_record_raw": round(cpu / measured * 1e6, 1),
    }


async def measure(infra: Infra, args: argparse.Namespace) -> None:
    dsn = await infra.create_database("bench")
    conn = await asyncpg.connect(dsn)
    try:
        await db.apply_migrations(conn, db.all_migrations("probe", REPO / "no-migrations"))
    finally:
        await conn.close()
    modes = ["ignored", "handled"] if args.mode == "both" else [args.mode]
    for mode in modes:
        print(json.dumps(await run_mode(infra.bootstrap, dsn, mode, args.records, args.rate)))


def main(args: argparse.Namespace) -> None:
    if args.publish:
        asyncio.run(publish(args.bootstrap, args.publish, args.rate))
        return
    os.environ.setdefault("FULFIL_TEST_KEEP_STACK", "1")
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # the group join's chatter
    infra = start_infra()
    try:
        asyncio.run(measure(infra, args))
    finally:
        infra.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=0.0)
    parser.add_argument("--mode", choices=["ignored", "handled", "both"], default="both")
    parser.add_argument("--publish", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--bootstrap", default="", help=argparse.SUPPRESS)
    main(parser.parse_args())
