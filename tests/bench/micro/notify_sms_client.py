"""CPU per SMS sent to the development gateway (the local sink, in this process: both ends
count) through httpx with the keep-alive pool notify used before (`before`) and through
notify's own client, aiohttp (`after`). Messages go in passes of 20 at once, as the sender
sends them.

    .venv/bin/python -m tests.bench.micro.notify_sms_client [--messages 400] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import httpx

from deploy.local.ports import free_ports
from deploy.local.sinks import Sinks
from services.notify.channels import Delivery, HttpSmsGateway
from tests.bench.micro.notify_sms_routes import PASS, deliveries

KEY = "dev-sms-gateway-key"


class HttpxGateway:
    """The gateway as it was: httpx, as many kept-alive connections as sends in flight."""

    def __init__(self, url: str) -> None:
        self.url = url
        limits = httpx.Limits(
            max_connections=PASS, max_keepalive_connections=PASS, keepalive_expiry=4
        )
        self.client = httpx.AsyncClient(limits=limits, timeout=10.0)

    async def send(self, d: Delivery) -> None:
        body = {"to": d.recipient, "text": d.text, "message_id": d.message_id}
        headers = {"Idempotency-Key": d.message_id, "Authorization": f"Bearer {KEY}"}
        response = await self.client.post(self.url, json=body, headers=headers)
        assert response.status_code < 300, response.text

    async def aclose(self) -> None:
        await self.client.aclose()


async def measure(kind: str, messages: list[Delivery]) -> float:
    """CPU µs per message, after a first pass that opens the connections."""
    smtp_port, http_port = free_ports(2)
    sinks = await Sinks(smtp_port, http_port).start()
    url = f"{sinks.http_url}/sms"
    gateway = HttpxGateway(url) if kind == "before" else HttpSmsGateway(url, KEY, concurrency=PASS)
    try:
        await asyncio.gather(*(gateway.send(d) for d in deliveries(PASS)))
        start = time.process_time_ns()
        for i in range(0, len(messages), PASS):
            await asyncio.gather(*(gateway.send(d) for d in messages[i : i + PASS]))
        cpu = (time.process_time_ns() - start) / len(messages) / 1000
        assert len(sinks.store.received) == len(messages) + PASS
        return cpu
    finally:
        await gateway.aclose()
        await sinks.stop()


async def main(count: int, runs: int) -> None:
    figures: dict[str, list[float]] = {"before": [], "after": []}
    for _ in range(runs):
        for name in figures:
            figures[name].append(await measure(name, deliveries(count)))
    for name, values in figures.items():
        print(f"{name}: {statistics.median(values):.0f} µs CPU per SMS (median of {runs})")
    print(
        f"ratio: {statistics.median(figures['before']) / statistics.median(figures['after']):.1f}x"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=400)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.messages, args.runs))
