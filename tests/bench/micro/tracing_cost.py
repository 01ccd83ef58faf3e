"""CPU per consumed event and per outbox row, tracing off against on, and against before.

    .venv/bin/python -m tests.bench.micro.tracing_cost [--before REV] [--events 5000]

Times the hot path's own functions in this process, without a broker or a database (their
round trips are the same whatever tracing does): a handled record through the
MessageProcessor (decode, inbox entry, a handler emitting one event into the unit's
outbox rows), in batches of 50 as polls bring them and one by one; and an outbox row from
`Unit.emit` to the relay's send (the producer acknowledges at once). The modes:

- off: nothing configured (the default), records without a trace context;
- off, carried: tracing off, records carrying a `traceparent` from a traced upstream;
- on: the SDK with an in-memory exporter (every span made, ended and exported);
- before (with `--before REV`): the same functions of the code at REV, run from a copy of
  its `shared/` in a child process, so off is compared with no tracing code at all.

Prints CPU µs per event (process time, best of several rounds) for each mode.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from shared import outbox
from shared.consumer import MessageProcessor
from shared.contracts.envelope import Money
from shared.contracts.events.common import PaymentMethod
from shared.contracts.events.order import OrderPlaced
from shared.contracts.events.payment import PaymentRequested
from shared.messages import Incoming, RawMessage
from shared.unit import Unit, Units
from tests.bench.micro.at_revision import figures_at
from tests.support.events import line, placed

ROUNDS = 15
BATCH = 50
UPSTREAM = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


class _Conn:
    def __init__(self) -> None:
        self.rows: list[Any] = []

    async def fetch(self, _sql: str, ids: list[str], *_: Any) -> list[dict[str, str]]:
        return [{"message_id": i} for i in ids]

    async def executemany(self, _sql: str, rows: list[Any]) -> None:
        self.rows.extend(rows)
        if len(self.rows) > 1000:
            self.rows.clear()

    def transaction(self) -> Any:
        return contextlib.nullcontext()


class _Pool:
    def __init__(self) -> None:
        self.conn = _Conn()

    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator[_Conn]:
        yield self.conn


class _Producer:
    def __init__(self) -> None:
        self.last: list[tuple[str, bytes]] = []

    async def send(self, _topic: str, **record: Any) -> asyncio.Future[None]:
        self.last = record["headers"]
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


async def _request_payment(unit: Unit[Any], incoming: Incoming[Any]) -> None:
    amount = Money(amount=12_900, currency="CNY")
    event = PaymentRequested(attempt_id="att_1", method=PaymentMethod.CARD, amount=amount)
    await unit.emit(event, order_id=incoming.order_id)


def _as_read(row: tuple[Any, ...], row_id: int) -> dict[str, Any]:
    names = ("topic", "key", "value", "headers", "event_id", "event_type")
    read = {"id": row_id, **dict(zip(names, row, strict=False))}
    read["traceparent"], read["tracestate"] = row[6:8] if len(row) > 6 else (None, None)
    return read


def _relay(producer: _Producer) -> Any:
    try:
        return outbox.OutboxRelay(_Pool(), "", producer, service="order")  # type: ignore[arg-type, call-arg]
    except TypeError:  # before tracing: no service
        return outbox.OutboxRelay(_Pool(), "", producer)  # type: ignore[arg-type]


async def _records(carried: bool, count: int) -> list[RawMessage]:
    """`count` OrderPlaced records as the order service's relay publishes them."""
    unit = Units("order", None).on(None)  # type: ignore[arg-type]
    event: OrderPlaced = placed(line())
    producer = _Producer()
    relay = _relay(producer)
    records = []
    for offset in range(count):
        await unit.emit(event, order_id=f"ord_{offset}")
        row = unit.outgoing.pop()
        if carried and len(row) > 6:
            row = (*row[:6], UPSTREAM, None)
        await relay._publish([_as_read(row, offset)])
        records.append(RawMessage("orders.v1", 0, offset, row[1], row[2], tuple(producer.last)))
    return records


def _cpu(run: Callable[[], Coroutine[Any, Any, None]], events: int) -> float:
    """CPU µs per event of `run`, best of ROUNDS."""
    best = float("inf")
    loop = asyncio.new_event_loop()
    try:
        for _ in range(ROUNDS):
            started = time.process_time()
            loop.run_until_complete(run())
            best = min(best, time.process_time() - started)
    finally:
        loop.close()
    return best / events * 1e6


def measure(mode: str, events: int) -> dict[str, float]:
    exporter = None
    if mode == "on":
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

        from shared import tracing
        from shared.settings import ServiceSettings

        exporter = InMemorySpanExporter()
        for service in ("order", "payment"):
            tracing.configure(service, ServiceSettings(env="test"), exporter=exporter)
    setup = asyncio.new_event_loop()
    records = setup.run_until_complete(_records(mode == "off, carried", BATCH))
    setup.close()
    pool = _Pool()
    processor = MessageProcessor(
        "payment",
        pool,  # type: ignore[arg-type]
        {OrderPlaced: _request_payment},
        Units("payment", None),
    )

    async def batches() -> None:
        for _ in range(events // BATCH):
            await processor.process_batch(records)
            if exporter is not None:
                exporter.clear()

    async def one_by_one() -> None:
        for i in range(events):
            await processor.process(records[i % BATCH])
            if exporter is not None and i % BATCH == 0:
                exporter.clear()

    event: OrderPlaced = placed(line())
    producer = _Producer()
    relay = _relay(producer)

    async def rows() -> None:
        unit = Units("order", None).on(None)  # type: ignore[arg-type]
        for i in range(events // BATCH):
            for _ in range(BATCH):
                await unit.emit(event, order_id="ord_bench")
            written, unit.outgoing, unit.emitted = unit.outgoing, [], []
            await relay._publish([_as_read(row, i) for row in written])
            if exporter is not None:
                exporter.clear()

    if mode == "on":
        from opentelemetry import trace

        tracer = tracing.tracer("order")
        assert tracer is not None
        span = tracer.start_span("POST /v1/orders")
        with trace.use_span(span, end_on_exit=True):
            outbox_row = _cpu(rows, events)
    else:
        outbox_row = _cpu(rows, events)
    return {
        "consumed (batch of 50)": _cpu(batches, events),
        "consumed (one by one)": _cpu(one_by_one, events),
        "outbox row (emit+send)": outbox_row,
    }


def _before(rev: str, events: int) -> dict[str, float]:
    """The figures of the code at `rev`, from a copy of its `shared/` in a child process."""
    args = ["--mode", "before", "--events", str(events)]
    return figures_at(rev, ("shared",), "tests.bench.micro.tracing_cost", args)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=5_000)
    parser.add_argument("--before", help="a git revision without tracing, to compare with")
    parser.add_argument("--mode", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mode == "before":
        print(json.dumps(measure("before", args.events)))
        return
    table = {}
    if args.before:
        table[f"before ({args.before})"] = _before(args.before, args.events)
    for mode in ("off", "off, carried", "on"):
        table[mode] = measure(mode, args.events)
    names = list(next(iter(table.values())))
    print(f"{'CPU µs per event':24s}" + "".join(f"{mode:>22s}" for mode in table))
    for name in names:
        print(f"{name:24s}" + "".join(f"{row[name]:22.2f}" for row in table.values()))


if __name__ == "__main__":
    main()
