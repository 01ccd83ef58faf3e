"""CPU per event of what the published contract adds to the write and read paths.

    .venv/bin/python -m tests.bench.micro.envelope_headers

Prints µs per call, best of several rounds, each beside its baseline measured in the same
run (the machine is shared, so only figures taken side by side compare): the record's
headers with the CloudEvents attributes against the three routing headers alone, and the
tolerant read against the strict one it replaced.
"""

from __future__ import annotations

import timeit
from collections.abc import Callable
from typing import Any

from shared import outbox
from shared.contracts.envelope import Envelope
from shared.contracts.events.order import OrderPlaced
from shared.contracts.registry import topic
from shared.messages import RawMessage, decode
from tests.support.events import placed

ROUNDS = 9
CALLS = 5_000


def _best(stmt: Callable[[], Any]) -> float:
    return min(timeit.repeat(stmt, number=CALLS, repeat=ROUNDS)) / CALLS * 1e6


def routing_headers(envelope: Envelope) -> list[tuple[str, bytes]]:
    """The headers records carried before the CloudEvents attributes (the baseline)."""
    return [
        ("event_id", str(envelope.event_id).encode()),
        ("type", envelope.type.encode()),
        ("schema_version", str(envelope.schema_version).encode()),
    ]


def main() -> None:
    event = placed()
    orders = topic("orders.v1")
    envelope = Envelope.wrap(event, producer="order", order_id="ord_bench")
    value = envelope.to_bytes()
    raw = RawMessage("orders.v1", 0, 0, b"ord_bench", value, tuple(envelope.headers()))

    def strict_read() -> None:
        OrderPlaced.model_validate(Envelope.model_validate_json(value).payload)

    def tolerant_read() -> None:
        OrderPlaced.read(Envelope.read(value).payload)

    pairs = {
        "headers": (envelope.headers, lambda: routing_headers(envelope)),
        "read (envelope + payload)": (tolerant_read, strict_read),
    }
    for name, (now, before) in pairs.items():
        after_us, before_us = _best(now), _best(before)
        print(f"{name:28s} {before_us:7.2f} -> {after_us:7.2f} µs/event")
    row = _best(lambda: outbox.row(orders, Envelope.wrap(event, producer="order", order_id="o")))
    print(f"{'outbox row (wrap+headers)':28s} {row:7.2f} µs/event")
    print(f"{'decode (whole)':28s} {_best(lambda: decode(raw)):7.2f} µs/event")
    header_bytes = sum(len(k) + len(v) for k, v in envelope.headers())
    routing_bytes = sum(len(k) + len(v) for k, v in routing_headers(envelope))
    print(f"{'header bytes per record':28s} {routing_bytes:7d} -> {header_bytes:7d}")


if __name__ == "__main__":
    main()
