"""Prometheus metrics of the order service, beside the shared ones in shared/metrics.py."""

from __future__ import annotations

import asyncpg
from prometheus_client import Counter, Gauge

from services.order.domain.order import STATUSES
from shared.gauges import LabelledGauge

ORDERS_PLACED = Counter("fulfil_orders_placed_total", "Orders placed (a replayed request: once)")
ORDERS_BY_STATUS = Gauge(
    "fulfil_orders_by_status", "Orders in the database by the status a customer sees", ["status"]
)
ORDERS_ENDED = Gauge(
    "fulfil_orders_ended_by_reason",
    "Orders cancelled, closed or refused, by why they ended (refreshed with the status gauge)",
    ["reason"],
)

# The status as `Order.status` derives it, in SQL: one read-only query every refresh.
_BY_STATUS = """
SELECT CASE
         WHEN stage IN ('cancelled', 'closed', 'refused') THEN stage
         WHEN paid_amount > 0 AND refunded_amount >= paid_amount THEN 'refunded'
         WHEN refunded_amount > 0 THEN 'partially_refunded'
         WHEN cancellation_requested AND stage = 'paid' THEN 'cancellation_requested'
         ELSE stage
       END AS status,
       CASE WHEN stage IN ('cancelled', 'closed', 'refused')
         THEN coalesce(ended_reason, 'unknown') END AS reason,
       count(*) AS orders
  FROM orders GROUP BY 1, 2
"""
_STATUSES = LabelledGauge(ORDERS_BY_STATUS, STATUSES)
_ENDED = LabelledGauge(ORDERS_ENDED)


async def refresh_orders(conn: asyncpg.Connection) -> None:
    """`fulfil_orders_by_status` and `fulfil_orders_ended_by_reason` (shared.gauges)."""
    by_status: dict[str, int] = {}
    by_reason: dict[str, int] = {}
    for row in await conn.fetch(_BY_STATUS):
        by_status[row["status"]] = by_status.get(row["status"], 0) + row["orders"]
        if row["reason"] is not None:
            by_reason[row["reason"]] = by_reason.get(row["reason"], 0) + row["orders"]
    _STATUSES.set(by_status.items())
    _ENDED.set(by_reason.items())
