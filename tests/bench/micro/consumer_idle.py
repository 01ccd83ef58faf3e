"""Idle CPU of a service's consumers, and the wait of a lone record, against the test stack.

    FULFIL_TEST_KEEP_STACK=1 .venv/bin/python -m tests.bench.micro.consumer_idle \
        [--seconds 10] [--runs 3] [--within 0.01,0.1,0.25]

Each measurement runs in a child process of its own: a faust app reading `returns.v1`
through `attach_agents` (the runtime's wiring for the topics that are not per order) with
one `within`, or the service's own consumer (`ServiceConsumer`) on `orders.v1`. A first
record proves the group has joined; then the process's CPU time (every thread) is read
over `--seconds` of silence, and five records published one at a time, 0.3 s apart, give
the time from the broker's acknowledgement of each to the processor receiving it (the
wait a refund-flow hop adds). The processor records what it is given and does nothing
else, so the figures are the consumer's own. Kinds alternate run by run; medians shown.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaProducer

from shared.contracts.events.order import OrderClosed
from shared.contracts.events.returns import RefundRejected
from shared.contracts.registry import topic
from shared.kafka.agents import ServiceConsumer, attach_agents, build_faust_app, stop_faust_app
from shared.messages import RawMessage
from tests.support.events import wrap
from tests.support.infra import REPO, start_infra
from tests.support.kafka import start_group_at_end
from tests.support.samples import sample_event

LONE_RECORDS = 5


class Arrivals:
    """A processor that notes when each record arrived."""

    def __init__(self) -> None:
        self.arrived: dict[bytes, float] = {}
        self.changed = asyncio.Event()

    async def process_batch(self, raws: Sequence[RawMessage]) -> list[str]:
        now = time.monotonic()
        for raw in raws:
            self.arrived[raw.key or b""] = now
        self.changed.set()
        return ["handled"] * len(raws)

    async def wait_for(self, key: bytes, deadline: float = 60.0) -> float:
        async with asyncio.timeout(deadline):
            while key not in self.arrived:
                self.changed.clear()
                await self.changed.wait()
        return self.arrived[key]


async def child(bootstrap: str, kind: str, within: float, seconds: float) -> dict[str, Any]:
    name = "returns.v1" if kind == "faust" else "orders.v1"
    declared = topic(name)
    suffix = f"-idle-{uuid.uuid4().hex[:8]}"
    processor: Any = Arrivals()
    stop: Any
    if kind == "faust":
        app = build_faust_app("probe", bootstrap, group_suffix=suffix)
        await start_group_at_end(bootstrap, str(app.conf.id), [name])
        attach_agents(app, (declared,), processor, within=within)
        await app.start()

        async def stop() -> None:
            await stop_faust_app(app, failed=False)
    else:
        consumer = ServiceConsumer("probe", bootstrap, (declared,), processor, group_suffix=suffix)
        await start_group_at_end(bootstrap, consumer.group, [name])
        await consumer.start()
        running = asyncio.ensure_future(consumer.run())

        async def stop() -> None:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    event = sample_event(RefundRejected) if kind == "faust" else OrderClosed()

    async def lone() -> float:
        envelope = wrap(event, f"ord_{uuid.uuid4().hex}")
        key = declared.key_of(envelope).encode()
        await producer.send_and_wait(name, envelope.to_bytes(), key=key)
        sent = time.monotonic()
        return await processor.wait_for(key) - sent

    try:
        await lone()  # the group has joined and the partitions are being read
        wall, cpu = time.monotonic(), time.process_time()
        await asyncio.sleep(seconds)  # the idle cost, measured over a fixed time
        idle = (time.process_time() - cpu) / (time.monotonic() - wall)
        waits = []
        for _ in range(LONE_RECORDS):
            waits.append(await lone())
            await asyncio.sleep(0.3)  # spacing the records: each one arrives alone
    finally:
        await producer.stop()
        await stop()
    label = f"faust within={within}" if kind == "faust" else "direct"
    return {
        "consumer": label,
        "idle_core": round(idle, 4),
        "lone_record_ms": round(statistics.median(waits) * 1000, 1),
    }


def run_child(bootstrap: str, kind: str, within: float, seconds: float) -> dict[str, Any]:
    args = [sys.executable, "-m", "tests.bench.micro.consumer_idle", "--child", kind,
            "--within", str(within), "--seconds", str(seconds),
            "--bootstrap", bootstrap]  # fmt: skip
    out = subprocess.run(args, cwd=REPO, check=True, capture_output=True, text=True).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def main(args: argparse.Namespace) -> None:
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    logging.getLogger("faust").setLevel(logging.CRITICAL)
    if args.child:
        result = asyncio.run(child(args.bootstrap, args.child, float(args.within), args.seconds))
        print(json.dumps(result))
        return
    os.environ.setdefault("FULFIL_TEST_KEEP_STACK", "1")
    infra = start_infra()
    kinds = [("direct", 0.0)] + [("faust", float(w)) for w in args.within.split(",")]
    results: dict[str, list[dict[str, Any]]] = {}
    try:
        for _ in range(args.runs):
            for kind, within in kinds:
                found = run_child(infra.bootstrap, kind, within, args.seconds)
                results.setdefault(found["consumer"], []).append(found)
                print(json.dumps(found), flush=True)
    finally:
        infra.stop()
    for label, runs in results.items():
        idle = statistics.median(r["idle_core"] for r in runs)
        wait = statistics.median(r["lone_record_ms"] for r in runs)
        print(f"{label:22} idle {idle:.4f} core   lone record {wait:6.1f} ms   ({len(runs)} runs)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--within", default="0.01,0.1,0.25")
    parser.add_argument("--child", choices=["faust", "direct"], help=argparse.SUPPRESS)
    parser.add_argument("--bootstrap", default="", help=argparse.SUPPRESS)
    main(parser.parse_args())
