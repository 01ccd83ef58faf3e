"""CPU per SMS sent through the development gateway, directly (before) and through the
per-country provider routes (after), to the local sink in this process (both ends count).
Messages go in passes of 20 at once, as the sender sends them.

    .venv/bin/python -m tests.bench.micro.notify_sms_routes [--messages 400] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid

from deploy.local.ports import free_ports
from deploy.local.sinks import Sinks
from services.notify.channels import Channel, Delivery, HttpSmsGateway
from services.notify.sms import SmsRoutes

PASS = 20


def deliveries(count: int) -> list[Delivery]:
    run = uuid.uuid4().hex[:8]
    return [
        Delivery(f"ntf_{run}_{n}", "sms", f"+8613900{n:06d}", f"Order {n} confirmed.")
        for n in range(count)
    ]


async def measure(routed: bool, messages: list[Delivery]) -> float:
    """CPU µs per message."""
    smtp_port, http_port = free_ports(2)
    sinks = await Sinks(smtp_port, http_port).start()
    gateway = HttpSmsGateway(f"{sinks.http_url}/sms", "dev-sms-gateway-key", concurrency=PASS)
    channel: Channel = (
        SmsRoutes({"+44": "gateway", "*": "gateway"}, {"gateway": gateway}) if routed else gateway
    )
    try:
        start = time.process_time_ns()
        for i in range(0, len(messages), PASS):
            await asyncio.gather(*(channel.send(d) for d in messages[i : i + PASS]))
        cpu = (time.process_time_ns() - start) / len(messages) / 1000
        assert len(sinks.store.received) == len(messages)
        return cpu
    finally:
        await channel.aclose()
        await sinks.stop()


async def main(count: int, runs: int) -> None:
    figures: dict[str, list[float]] = {"before": [], "after": []}
    for _ in range(runs):
        for name, routed in (("before", False), ("after", True)):
            figures[name].append(await measure(routed, deliveries(count)))
    for name, values in figures.items():
        print(f"{name}: {statistics.median(values):.0f} µs CPU per SMS (median of {runs})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=400)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.messages, args.runs))
