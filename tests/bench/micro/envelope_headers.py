"""CPU per event of what the contracts add to the write and read paths.

    .venv/bin/python -m tests.bench.micro.envelope_headers

Prints µs per call for building an outbox row (wrap, bytes, headers with the CloudEvents
attributes) and for decoding a record (the tolerant read), best of several rounds.
"""

from __future__ import annotations

import timeit

from shared import outbox
from shared.consumer import RawMessage, decode
from shared.contracts.envelope import Envelope
from shared.contracts.registry import topic
from tests.support.events import placed

ROUNDS = 7
CALLS = 5_000


def _best(stmt: object) -> float:
    runs = timeit.repeat(stmt, number=CALLS, repeat=ROUNDS)  # type: ignore[arg-type]
    return min(runs) / CALLS * 1e6


def main() -> None:
    event = placed()
    orders = topic("orders.v1")
    envelope = Envelope.wrap(event, producer="order", order_id="ord_bench")
    raw = RawMessage(
        "orders.v1", 0, 0, b"ord_bench", envelope.to_bytes(), tuple(envelope.headers())
    )
    figures = {
        "headers()": lambda: envelope.headers(),
        "outbox row (wrap+bytes+headers)": lambda: outbox.row(
            orders, Envelope.wrap(event, producer="order", order_id="ord_bench")
        ),
        "decode (tolerant read)": lambda: decode(raw),
    }
    for name, stmt in figures.items():
        print(f"{name:36s} {_best(stmt):8.2f} µs/event")
    print(f"{'headers per record':36s} {len(envelope.headers()):8d}")


if __name__ == "__main__":
    main()
