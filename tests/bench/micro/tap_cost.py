"""The topic tap's CPU per order against a real broker (a script printing figures).

    python -m tests.bench.micro.tap_cost                  # 150 orders/s for 8 s, twice each
    python -m tests.bench.micro.tap_cost --rate 200 --seconds 10 --rounds 3

Starts a broker of its own in `.local/bench-micro/`, creates the registry's topics,
and for each tap setting starts a producer process that writes one order's records
(the 21 of a happy path, with their headers) `rate` times a second while the tap reads
them live. Figures per order: the tap process's CPU, and the broker's CPU over the same
window (the producer's share of it is the same for every setting).
- before: every body decoded, fetches answered as soon as any record is there;
- after: the bench's tap (only the tracked bodies, 64 kB or 50 ms fetches).
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer

from deploy.demo.topics import TopicTap
from deploy.local.kafka import KafkaCluster
from shared.kafka.admin import ensure_topics
from tests.bench.load import TRACKED_TYPES
from tests.bench.micro.driver_cost import order_records
from tests.bench.samplers import cpu_seconds

REPO = Path(__file__).resolve().parents[3]

SETTINGS: dict[str, dict[str, Any]] = {
    "before": {"decode": None, "fetch_min_bytes": 1, "fetch_max_wait_ms": 100, "poll_ms": 50},
    "after": {
        "decode": TRACKED_TYPES,
        "fetch_min_bytes": 64 * 1024,
        "fetch_max_wait_ms": 50,
        "poll_ms": 100,
    },
}


async def produce(bootstrap: str, rate: float, seconds: float) -> int:
    """Writes `rate` orders' records a second, in 10 ms slices; returns the records sent."""
    records = order_records()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks=1, linger_ms=5)
    await producer.start()
    sent = 0
    try:
        started = time.monotonic()
        orders = 0
        while (elapsed := time.monotonic() - started) < seconds:
            while orders < rate * elapsed:
                key = f"ord_{orders}".encode()
                for topic, value, headers in records:
                    await producer.send(topic, value, key=key, headers=headers)
                    sent += 1
                orders += 1
            await asyncio.sleep(0.01)
        await producer.flush()
    finally:
        await producer.stop()
    return sent


async def read_live(bootstrap: str, setting: dict[str, Any], rate: float, seconds: float) -> int:
    tap = TopicTap(
        bootstrap,
        topics=sorted({topic for topic, _, _ in order_records()}),
        decode=setting["decode"],
        fetch_min_bytes=setting["fetch_min_bytes"],
        fetch_max_wait_ms=setting["fetch_max_wait_ms"],
    )
    await tap.start()
    args = ["--produce", bootstrap, "--rate", str(rate), "--seconds", str(seconds)]
    writer = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.bench.micro.tap_cost", *args,
        cwd=REPO, stdout=subprocess.PIPE,
    )  # fmt: skip
    seen = 0
    try:
        batches = tap.batches(timeout_ms=setting["poll_ms"])
        expected: int | None = None
        reading = asyncio.create_task(writer.communicate())
        deadline = time.monotonic() + seconds + 60
        while (expected is None or seen < expected) and time.monotonic() < deadline:
            seen += len(await anext(batches))
            if expected is None and reading.done():
                expected = int(reading.result()[0])
    finally:
        await tap.stop()
    return seen


def measure(broker_pid: int, bootstrap: str, name: str, rate: float, seconds: float) -> str:
    cpu, broker = time.process_time(), cpu_seconds(broker_pid)
    seen = asyncio.run(read_live(bootstrap, SETTINGS[name], rate, seconds))
    orders = seen / len(order_records())
    tap_us = (time.process_time() - cpu) * 1e6 / orders
    broker_us = (cpu_seconds(broker_pid) - broker) * 1e6 / orders
    return f"  {name:<7} {orders:7.0f} orders  tap {tap_us:6.0f} µs/order  broker {broker_us:6.0f}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.bench.micro.tap_cost")
    p.add_argument("--rate", type=float, default=150.0)
    p.add_argument("--seconds", type=float, default=8.0)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--produce", metavar="BOOTSTRAP", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.produce:
        print(asyncio.run(produce(args.produce, args.rate, args.seconds)))
        return 0
    base = REPO / ".local" / "bench-micro" / "kafka"
    kafka = KafkaCluster(base)
    bootstrap = kafka.start()
    try:
        asyncio.run(ensure_topics(bootstrap))
        broker_pid = int(next(base.glob("node-*/kafka.pid")).read_text().strip())
        print(f"reading {args.rate:g} orders/s for {args.seconds:g} s live: CPU per order")
        for _ in range(args.rounds):
            for name in SETTINGS:
                print(measure(broker_pid, bootstrap, name, args.rate, args.seconds), flush=True)
    finally:
        kafka.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
