"""A service's own flow for operations (`GET /ops/status`, `fulfil status`, the console):
its consumer lag per partition, as its lag monitor last measured it from the broker, and
its pending dead letters by reason, one count on its own table. Nothing reads another
service's database or asks the broker again: the figures behind `fulfil_consumer_lag` and
the dead-letter panels, as the service itself holds them.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from shared.http import require_role
from shared.kafka.lag import LagMonitor
from shared.openapi import errors

router = APIRouter(prefix="/ops/status", tags=["operations"])


@router.get("", responses=errors(401, 403))
async def status(request: Request) -> dict[str, Any]:
    """This service's consumer lag (null before its first measure) and pending dead
    letters by reason."""
    require_role(request, "ops")
    runtime = request.app.state.runtime
    async with runtime.db.acquire() as conn:
        rows = await conn.fetch(
            """SELECT reason, count(*) AS pending, min(created_at) AS oldest FROM dead_letters
               WHERE status = 'pending' GROUP BY reason ORDER BY reason"""
        )
    monitor: LagMonitor | None = getattr(runtime, "lag", None)
    measured_at = None if monitor is None else monitor.measured_at
    last = {} if monitor is None or measured_at is None else monitor.last
    partitions = [
        {"topic": topic, "partition": partition, "lag": lag}
        for (topic, partition), lag in sorted(last.items())
    ]
    return {
        "service": runtime.name,
        "lag": {
            "measured_at": measured_at,
            "total": None if measured_at is None else sum(last.values()),
            "partitions": partitions,
        },
        "dead_letters": {
            "pending": sum(r["pending"] for r in rows),
            "by_reason": [dict(r) for r in rows],
        },
    }
