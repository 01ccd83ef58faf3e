"""SMTP sessions and CPU per email sent, before and after the session pool.

Before: one `aiosmtplib.send` (connect, EHLO, MAIL, RCPT, DATA, QUIT) per message, the
message composed with the stdlib. After: notify's SmtpEmail (bytes written directly,
pooled sessions). Both send to the local sink (a real SMTP server) in this process, so
the CPU figure counts both ends, as the stack's does. Messages go in passes of 20 at
once, as the sender sends them.

    .venv/bin/python -m tests.bench.micro.notify_smtp [--messages 100] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable

import aiosmtplib

from deploy.local.ports import free_ports
from deploy.local.sinks import Sinks
from services.notify.channels import Delivery, SmtpEmail
from services.notify.settings import NotifySettings
from tests.bench.micro.notify_mime import SENDER, deliveries, message_before

PASS = 20


async def measure(
    make_send: Callable[
        [Sinks], tuple[Callable[[Delivery], Awaitable[None]], Callable[[], Awaitable[None]]]
    ],
    messages: list[Delivery],
) -> tuple[int, float]:
    """(SMTP sessions the sink saw, CPU µs per message) for sending `messages`."""
    smtp_port, http_port = free_ports(2)
    sinks = await Sinks(smtp_port, http_port).start()
    try:
        send, close = make_send(sinks)
        start = time.process_time_ns()
        for i in range(0, len(messages), PASS):
            await asyncio.gather(*(send(d) for d in messages[i : i + PASS]))
        await close()
        cpu = (time.process_time_ns() - start) / len(messages) / 1000
        assert len(sinks.store.received) == len(messages), "every message arrived once"
        return sinks.store.smtp_sessions, cpu
    finally:
        await sinks.stop()


def before(
    sinks: Sinks,
) -> tuple[Callable[[Delivery], Awaitable[None]], Callable[[], Awaitable[None]]]:
    local = socket.getfqdn()

    async def send(d: Delivery) -> None:
        await aiosmtplib.send(
            message_before(d), hostname="127.0.0.1", port=sinks.smtp_port,
            start_tls=False, use_tls=False, local_hostname=local,
        )  # fmt: skip

    async def close() -> None:
        return None

    return send, close


def after(
    sinks: Sinks,
) -> tuple[Callable[[Delivery], Awaitable[None]], Callable[[], Awaitable[None]]]:
    size = NotifySettings().smtp_pool_size  # the service's default pool
    smtp = SmtpEmail("127.0.0.1", sinks.smtp_port, SENDER, pool_size=size)
    return smtp.send, smtp.aclose


async def run(count: int, runs: int) -> None:
    templates = deliveries()
    results: dict[str, list[tuple[int, float]]] = {"before": [], "after": []}
    for _ in range(runs):
        for name, make in (("before", before), ("after", after)):
            run_id = uuid.uuid4().hex[:8]
            messages = [
                Delivery(
                    **{**templates[n % len(templates)].__dict__, "message_id": f"ntf_{run_id}_{n}"}
                )
                for n in range(count)
            ]
            results[name].append(await measure(make, messages))
    print(f"{count} emails in passes of {PASS}, {runs} runs (medians)")
    print(f"{'':<8}{'SMTP sessions':>15}{'CPU µs/email':>15}")
    for name, figures in results.items():
        sessions = statistics.median(s for s, _ in figures)
        cpu = statistics.median(c for _, c in figures)
        print(f"{name:<8}{sessions:>15.0f}{cpu:>15.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(run(args.messages, args.runs))


if __name__ == "__main__":
    main()
