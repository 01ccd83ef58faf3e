"""CPU of notify (and its sinks) per order told of from placing to completion.

Starts notify with its production defaults (only the addresses set) and the SMTP/SMS
sinks in this process, lets it settle, then has a child process publish the events of
`--orders` orders (placed, paid, shipped, out for delivery, delivered, completed: twelve
messages each) and waits until the sinks hold every message. The CPU figure is this
process's (notify and the sinks; not the broker's, the database's or the publisher's)
over that window, per order. Run it on two checkouts to compare them.

    FULFIL_TEST_KEEP_STACK=1 .venv/bin/python -m tests.bench.micro.notify_orders [--orders 100]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import sys
import tempfile
import time
from pathlib import Path

from aiokafka import AIOKafkaProducer

from deploy.local.ports import free_port, free_ports
from deploy.local.sinks import Sinks
from services.notify.app import build
from services.notify.settings import NotifySettings
from shared.contracts.registry import topic_for_event
from tests.integration.notify.support import order_placed
from tests.integration.notify.test_lifecycle import life_after_placing
from tests.support.events import new_order_id, wrap
from tests.support.infra import Infra, start_infra
from tests.support.polling import eventually
from tests.support.services import new_group, running

SETTLE_SECONDS = 3.0
MESSAGES_PER_ORDER = 12


def write_events(path: Path, orders: int) -> None:
    with path.open("w") as out:
        for _ in range(orders):
            order_id = new_order_id()
            placed = order_placed(order_id, locale="zh-CN")
            for event in [placed, *life_after_placing(placed, order_id)]:
                envelope = wrap(event, order_id)
                topic = topic_for_event(envelope.type)
                record = {
                    "topic": topic.name,
                    "key": topic.key_of(envelope),
                    "value": base64.b64encode(envelope.to_bytes()).decode(),
                    "headers": [[k, base64.b64encode(v).decode()] for k, v in envelope.headers()],
                }
                out.write(json.dumps(record) + "\n")


async def publish(bootstrap: str, lines: list[str]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for line in lines:
            r = json.loads(line)
            headers = [(k, base64.b64decode(v)) for k, v in r["headers"]]
            await producer.send(r["topic"], base64.b64decode(r["value"]), key=r["key"].encode(),
                                headers=headers)  # fmt: skip
        await producer.flush()
    finally:
        await producer.stop()


async def measure(infra: Infra, orders: int) -> None:
    dsn = await infra.create_database("bench_orders")
    smtp_port, http_port = free_ports(2)
    sinks = await Sinks(smtp_port, http_port).start()
    settings = NotifySettings(
        env="test",
        kafka_bootstrap=infra.bootstrap,
        database_url=dsn,
        http_port=free_port(),
        smtp_port=smtp_port,
        sms_gateway_url=f"{sinks.http_url}/sms",
        quiet_hours_start="00:00",
        quiet_hours_end="00:00",  # nothing held for the morning
    )
    with tempfile.TemporaryDirectory() as tmp:
        events = Path(tmp) / "events.jsonl"
        write_events(events, orders)
        try:
            group = await new_group(infra.bootstrap, "notify")  # from the topics' end
            async with running(build(settings), group=group):
                await asyncio.sleep(SETTLE_SECONDS)  # a benchmark's window, not a test's wait
                cpu, wall = time.process_time(), time.monotonic()
                publisher = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "tests.bench.micro.notify_orders",
                    "--publish", str(events), "--bootstrap", infra.bootstrap,
                )  # fmt: skip

                async def all_received() -> bool:
                    return len(sinks.store.received) >= orders * MESSAGES_PER_ORDER

                await eventually(all_received, timeout=600, interval=0.2, what="every message")
                cpu, wall = time.process_time() - cpu, time.monotonic() - wall
                assert await publisher.wait() == 0
        finally:
            await sinks.stop()
    assert sinks.store.duplicates == 0
    print(f"{orders} orders, {len(sinks.store.received)} messages in {wall:.1f} s:"
          f" notify + sinks CPU {cpu * 1000 / orders:.1f} ms per order,"
          f" {cpu * 1e6 / len(sinks.store.received):.0f} us per message")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=100)
    parser.add_argument("--publish", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--bootstrap", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.publish:
        asyncio.run(publish(args.bootstrap, args.publish.read_text().splitlines()))
        return
    infra = start_infra()
    try:
        asyncio.run(measure(infra, args.orders))
    finally:
        infra.stop()


if __name__ == "__main__":
    main()
