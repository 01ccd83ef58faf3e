"""The shop's funnel and the flow, computed from the topics' records.

An order counts once per stage however many times an event is redelivered:
each stage is a set of order ids.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from deploy.demo.topics import Record

STAGES = (
    "placed",
    "paid",
    "shipped",
    "delivered",
    "completed",
    "cancelled",
    "closed",
    "refunded",
)

_STAGE_OF = {
    "OrderPlaced": "placed",
    "OrderPaid": "paid",
    "ShipmentShipped": "shipped",
    "ShipmentDelivered": "delivered",
    "OrderCompleted": "completed",
    "OrderCancelled": "cancelled",
    "OrderClosed": "closed",
    "RefundPaid": "refunded",
}


@dataclass
class Funnel:
    stages: dict[str, set[str]] = field(default_factory=lambda: {s: set() for s in STAGES})
    per_topic: Counter[str] = field(default_factory=Counter)
    per_type: Counter[str] = field(default_factory=Counter)
    messages: Counter[str] = field(default_factory=Counter)  # template -> sent
    messages_failed: int = 0
    refund_flows: Counter[str] = field(default_factory=Counter)
    cancel_reasons: Counter[str] = field(default_factory=Counter)
    payment_failures: int = 0
    paid_at: dict[str, datetime] = field(default_factory=dict)
    pay_to_ship: deque[float] = field(default_factory=lambda: deque(maxlen=5000))
    _window: deque[tuple[float, str]] = field(default_factory=deque)
    started: float = field(default_factory=time.monotonic)

    def add(self, records: list[Record]) -> None:
        now = time.monotonic()
        for record in records:
            self.per_topic[record.topic] += 1
            self.per_type[record.type] += 1
            self._window.append((now, record.topic))
            self._stage(record)
        while self._window and self._window[0][0] < now - 5:
            self._window.popleft()

    def _stage(self, record: Record) -> None:
        order_id = record.order_id
        kind = record.type
        stage = _STAGE_OF.get(kind)
        if kind == "PaymentSucceeded" and record.payload.get("method") == "cash_on_delivery":
            stage = "paid"  # cash on delivery counts as paid on delivery
        if stage and order_id:
            self.stages[stage].add(order_id)
        if kind in ("OrderPaid", "PaymentSucceeded") and order_id and record.occurred_at:
            self.paid_at.setdefault(order_id, record.occurred_at)
        elif kind == "ShipmentShipped" and order_id and record.occurred_at:
            paid = self.paid_at.get(order_id)
            if paid is not None:
                self.pay_to_ship.append((record.occurred_at - paid).total_seconds())
        elif kind == "NotificationSent":
            self.messages[str(record.payload.get("template", "?"))] += 1
        elif kind == "NotificationFailed":
            self.messages_failed += 1
        elif kind == "RefundRequested":
            self.refund_flows[str(record.payload.get("flow", "?"))] += 1
        elif kind == "OrderCancelled":
            self.cancel_reasons[str(record.payload.get("reason", "?"))] += 1
        elif kind == "PaymentFailed":
            self.payment_failures += 1

    def count(self, stage: str) -> int:
        return len(self.stages[stage])

    def conversion(self) -> float | None:
        placed = self.count("placed")
        return self.count("paid") / placed if placed else None

    def topic_rates(self) -> dict[str, float]:
        """Records per second per topic over the last five seconds."""
        span = min(5.0, max(1e-3, time.monotonic() - self.started))
        rates: Counter[str] = Counter(topic for _, topic in self._window)
        return {topic: rates[topic] / span for topic in self.per_topic}

    def pay_to_ship_summary(self) -> dict[str, float] | None:
        if not self.pay_to_ship:
            return None
        values = sorted(self.pay_to_ship)
        return {
            "median_s": statistics.median(values),
            "p95_s": values[min(len(values) - 1, int(0.95 * len(values)))],
            "n": len(values),
        }

    def summary(self) -> dict[str, Any]:
        return {
            "funnel": {stage: self.count(stage) for stage in STAGES},
            "payment_conversion": self.conversion(),
            "payment_failures": self.payment_failures,
            "pay_to_ship": self.pay_to_ship_summary(),
            "messages_sent": sum(self.messages.values()),
            "messages_failed": self.messages_failed,
            "messages_by_template": dict(self.messages.most_common()),
            "refund_requests_by_flow": dict(self.refund_flows),
            "cancel_reasons": dict(self.cancel_reasons),
            "events_per_topic": dict(sorted(self.per_topic.items())),
        }
