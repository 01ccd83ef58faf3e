"""The load driver's own CPU per order, part by part (a script printing figures, not a test).

    python -m tests.bench.micro.driver_cost                 # both parts
    python -m tests.bench.micro.driver_cost --orders 4000 --concurrency 64

- placing: `Shop.place_order` N times with C concurrent callers against a trivial
  HTTP/1.1 server in another process (so only the client's CPU is counted), once
  through httpx with the bench's old pool (300 connections), once through
  `KeepAliveClient`. Figures: CPU µs per call of this process.
- reading: N topic records (the mix one order produces) turned into `Record`s with
  every body decoded, and with only the bodies the latency tracker reads.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from deploy.demo.shop import Edges, KeepAliveClient, Shop, order_body
from deploy.demo.topics import Record
from tests.bench.load import TRACKED_TYPES

SERVER = r"""
import asyncio, sys

BODY = b'{"order_id":"ord_0123456789abcdef","status":"placed"}'
ANSWER = (b"HTTP/1.1 201 Created\r\ncontent-type: application/json\r\n"
          b"content-length: %d\r\n\r\n%s" % (len(BODY), BODY))

class Echo(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport, self.buffer = transport, b""

    def data_received(self, data):
        self.buffer += data
        while True:
            head, sep, rest = self.buffer.partition(b"\r\n\r\n")
            if not sep:
                return
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if len(rest) < length:
                return
            self.buffer = rest[length:]
            self.transport.write(ANSWER)

async def main():
    server = await asyncio.get_running_loop().create_server(Echo, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()

asyncio.run(main())
"""


def edges(port: int) -> Edges:
    url = f"http://127.0.0.1:{port}"
    return Edges(url, url, url, url, url, shop_key="k", ops_key="k")


async def place_many(shop: Shop, orders: int, concurrency: int) -> float:
    """CPU µs of this process per `place_order` call."""
    rng = random.Random(8)
    bodies = [order_body(rng, "card", lines=1, quantity=1) for _ in range(orders)]
    queue = iter(bodies)

    async def caller() -> None:
        for body in queue:
            await shop.place_order(body)

    await shop.place_order(bodies[0])  # warm: the first connection
    started = time.process_time()
    await asyncio.gather(*(caller() for _ in range(concurrency)))
    return (time.process_time() - started) * 1e6 / orders


async def placing(port: int, orders: int, concurrency: int) -> dict[str, float]:
    results: dict[str, float] = {}
    clients: dict[str, Callable[[], Any]] = {
        "httpx, 300-connection pool (before)": lambda: httpx.AsyncClient(
            limits=httpx.Limits(max_connections=300, max_keepalive_connections=300), timeout=30
        ),
        "KeepAliveClient (after)": lambda: KeepAliveClient(connections=300),
    }
    for name, make in clients.items():
        async with make() as client:
            results[name] = await place_many(Shop(edges(port), client), orders, concurrency)
    return results


def order_records() -> list[tuple[str, bytes, list[tuple[str, bytes]]]]:
    """One order's records as the topics carry them (topic, value, headers), bodies of
    the usual size; the types are those a happy-path order produces."""
    types = [
        ("orders.v1", "OrderPlaced"), ("payments.v1", "PaymentRequested"),
        ("shipments.v1", "StockReserved"), ("notifications.v1", "NotificationSent"),
        ("payments.v1", "PaymentSucceeded"), ("orders.v1", "OrderPaid"),
        ("notifications.v1", "NotificationSent"), ("shipments.v1", "ShippingPromiseSet"),
        ("shipments.v1", "ShipmentShipped"), ("notifications.v1", "NotificationSent"),
        ("shipments.v1", "CheckpointReached"), ("shipments.v1", "CheckpointReached"),
        ("shipments.v1", "CheckpointReached"), ("shipments.v1", "ShipmentWentOutForDelivery"),
        ("notifications.v1", "NotificationSent"), ("shipments.v1", "CheckpointReached"),
        ("shipments.v1", "ShipmentDelivered"), ("notifications.v1", "NotificationSent"),
        ("shipments.v1", "CheckpointReached"), ("orders.v1", "OrderDelivered"),
        ("notifications.v1", "NotificationSent"),
    ]  # fmt: skip
    out = []
    for i, (topic, kind) in enumerate(types):
        body = {
            "event_id": f"0190c0de-0000-7000-8000-{i:012d}",
            "type": kind,
            "schema_version": 1,
            "occurred_at": "2026-12-02T03:31:29.123456+00:00",
            "order_id": "ord_0123456789abcdef",
            "correlation_id": "0190c0de-0000-7000-8000-000000000000",
            "payload": {
                "source_event_id": "0190c0de-0000-7000-8000-000000000000",
                "checkout_url": "http://127.0.0.1:1/sandbox/checkout/s",
                "note": "x" * 500,
            },
        }
        headers = [("event_id", body["event_id"].encode()), ("type", kind.encode())]
        out.append((topic, json.dumps(body).encode(), headers))
    return out


def reading(orders: int) -> dict[str, float]:
    records = order_records() * orders
    ways: dict[str, Callable[[str, bytes, list[tuple[str, bytes]]], Record]] = {
        "every body decoded (before)": lambda t, v, h: Record.parse(t, v, 0),
        "only the tracked bodies (after)": lambda t, v, h: Record.from_kafka(
            t, v, h, 0, TRACKED_TYPES
        ),
    }
    results = {}
    for name, way in ways.items():
        started = time.process_time()
        for topic, value, headers in records:
            way(topic, value, headers)
        results[name] = (time.process_time() - started) * 1e6 / orders
    return results


def run(step: Callable[[], Awaitable[dict[str, float]]]) -> dict[str, float]:
    return asyncio.run(step())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.bench.micro.driver_cost")
    p.add_argument("--orders", type=int, default=3000)
    p.add_argument("--concurrency", type=int, default=64)
    args = p.parse_args(argv)
    server = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        calls = run(lambda: placing(port, args.orders, args.concurrency))
    finally:
        server.terminate()
        server.wait()
    print(f"placing {args.orders} orders, {args.concurrency} callers: CPU µs per call")
    for name, us in calls.items():
        print(f"  {name:<40} {us:8.0f}")
    print(f"reading the records of {args.orders} orders (21 each): CPU µs per order")
    for name, us in reading(args.orders).items():
        print(f"  {name:<40} {us:8.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
