"""The consumer loop against the real broker: offsets are committed only for what the
processor finished; a bug escaping it ends the loop with nothing committed past the last
batch that completed; a clean stop lets the batch in hand finish and commits it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from shared.contracts.events.order import OrderClosed
from shared.contracts.registry import topic
from shared.kafka.agents import ServiceConsumer
from shared.kafka.lag import LagMonitor
from shared.messages import RawMessage
from tests.support.events import new_order_id, resend, wrap
from tests.support.infra import Infra
from tests.support.kafka import start_group_at_end
from tests.support.polling import eventually

TOPIC = "orders.v1"


class Recorder:
    """A processor that records what it is given; a record of a `bad` order is a bug, and
    while `gate` is clear a batch waits for it."""

    def __init__(self, bad: str = "") -> None:
        self.seen: list[RawMessage] = []
        self.bad = bad
        self.gate = asyncio.Event()
        self.gate.set()
        self.entered = asyncio.Event()

    async def process_batch(self, raws: Sequence[RawMessage]) -> list[str]:
        self.entered.set()
        await self.gate.wait()
        if self.bad and any(self.bad.encode() in (raw.value or b"") for raw in raws):
            raise RuntimeError("a bug in the processor")
        self.seen.extend(raws)
        return ["handled"] * len(raws)


@asynccontextmanager
async def consuming(infra: Infra, processor: Any) -> AsyncIterator[tuple[Any, LagMonitor]]:
    suffix = f"-loop{uuid.uuid4().hex[:8]}"
    consumer = ServiceConsumer(
        "probe", infra.bootstrap, (topic(TOPIC),), processor, group_suffix=suffix
    )
    await start_group_at_end(infra.bootstrap, consumer.group, [TOPIC])
    monitor = LagMonitor(infra.bootstrap, {consumer.group: [TOPIC]}, client_id="fulfil-loop-test")
    await monitor.start()
    await consumer.start()
    running = asyncio.ensure_future(consumer.run())
    try:
        yield running, monitor
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await monitor.stop()


async def lag(monitor: LagMonitor) -> int:
    return sum((await monitor.measure()).values())


async def test_a_bug_escaping_the_processor_ends_the_loop_and_commits_nothing_past_it(
    infra: Infra,
) -> None:
    order_id, bad_order = new_order_id(), new_order_id()
    processor = Recorder(bad=bad_order)
    async with consuming(infra, processor) as (running, monitor):
        good = wrap(OrderClosed(), order_id)
        await resend(infra, good)

        async def committed() -> bool:
            return bool(processor.seen) and await lag(monitor) == 0

        await eventually(committed, what="the good record handled and committed")
        await resend(infra, wrap(OrderClosed(), bad_order))
        await asyncio.wait({running}, timeout=20)

        assert running.done(), "the loop ended"
        assert isinstance(running.exception(), RuntimeError)
        assert await lag(monitor) == 1, "the record the processor failed on is not committed"
    assert [raw.value for raw in processor.seen] == [good.to_bytes()]


async def test_a_clean_stop_finishes_the_batch_in_hand_and_commits_it(infra: Infra) -> None:
    processor = Recorder()
    processor.gate.clear()
    async with consuming(infra, processor) as (running, monitor):
        await resend(infra, wrap(OrderClosed(), new_order_id()))
        await asyncio.wait_for(processor.entered.wait(), 20)

        running.cancel()  # the stop arrives while the batch is in the processor
        processor.gate.set()
        await asyncio.gather(running, return_exceptions=True)

        assert len(processor.seen) == 1, "the batch in hand was finished"
        assert await lag(monitor) == 0, "and committed"
