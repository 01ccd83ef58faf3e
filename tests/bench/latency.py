"""Latency from placement to each milestone, from the events' own `occurred_at`.

placement = OrderPlaced; paid = OrderPaid; shipped = ShipmentShipped;
delivered = ShipmentDelivered; confirmation = the NotificationSent whose
`source_event_id` is the order's OrderPlaced event (the order confirmation).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from deploy.demo.topics import Record

MILESTONES = {
    "OrderPaid": "paid",
    "ShipmentShipped": "shipped",
    "ShipmentDelivered": "delivered",
}
ORDERED = ("paid", "shipped", "delivered", "confirmation")
# the event types whose bodies the tracker reads; the others it only counts
DECODED = frozenset({"OrderPlaced", "NotificationSent", *MILESTONES})


def percentile(sorted_values: list[float], q: float) -> float | None:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass
class LatencyTracker:
    orders: set[str] | None = None  # only these orders (None: every order seen)
    placed: dict[str, tuple[datetime, str]] = field(default_factory=dict)
    reached: dict[str, dict[str, datetime]] = field(default_factory=dict)
    sent_for_event: dict[str, datetime] = field(default_factory=dict)
    records: int = 0
    record_bytes: int = 0
    records_by_type: Counter[str] = field(default_factory=Counter)
    first_ts_ms: int | None = None
    last_ts_ms: int | None = None

    def add(self, batch: list[Record]) -> None:
        for record in batch:
            if record.topic.startswith("bench."):
                continue
            self.records += 1
            self.record_bytes += record.size
            self.records_by_type[record.type] += 1
            self.first_ts_ms = min(self.first_ts_ms or record.timestamp_ms, record.timestamp_ms)
            self.last_ts_ms = max(self.last_ts_ms or 0, record.timestamp_ms)
            if record.occurred_at is None:
                continue
            if record.type == "NotificationSent":
                source = str(record.payload.get("source_event_id", ""))
                self.sent_for_event.setdefault(source, record.occurred_at)
                continue
            if record.order_id is None:
                continue
            if record.type == "OrderPlaced":
                self.placed.setdefault(record.order_id, (record.occurred_at, record.event_id))
            elif record.type in MILESTONES:
                stages = self.reached.setdefault(record.order_id, {})
                stages.setdefault(MILESTONES[record.type], record.occurred_at)

    def milestones(self, order_id: str) -> dict[str, datetime]:
        found = dict(self.reached.get(order_id, {}))
        placed = self.placed.get(order_id)
        if placed is not None and placed[1] in self.sent_for_event:
            found["confirmation"] = self.sent_for_event[placed[1]]
        return found

    def count_reached(self, stage: str) -> int:
        wanted = self.orders if self.orders is not None else self.placed.keys()
        return sum(1 for oid in wanted if oid in self.placed and stage in self.milestones(oid))

    def samples(self) -> dict[str, list[tuple[float, float]]]:
        """Per milestone: (seconds since the first placement, latency in ms), by placement."""
        wanted = self.orders if self.orders is not None else set(self.placed)
        placements = [self.placed[oid] for oid in wanted if oid in self.placed]
        if not placements:
            return {stage: [] for stage in ORDERED}
        origin = min(at for at, _ in placements)
        result: dict[str, list[tuple[float, float]]] = {stage: [] for stage in ORDERED}
        for oid in wanted:
            if oid not in self.placed:
                continue
            placed_at = self.placed[oid][0]
            for stage, at in self.milestones(oid).items():
                result[stage].append(
                    (
                        (placed_at - origin).total_seconds(),
                        (at - placed_at).total_seconds() * 1000,
                    )
                )
        for values in result.values():
            values.sort()
        return result

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for stage, values in self.samples().items():
            latencies = sorted(ms for _, ms in values)
            out[stage] = {
                "n": len(latencies),
                "p50_ms": _round(percentile(latencies, 50)),
                "p95_ms": _round(percentile(latencies, 95)),
                "p99_ms": _round(percentile(latencies, 99)),
                "max_ms": _round(latencies[-1] if latencies else None),
            }
        return out


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
