"""The periodic check for stuck orders (domain.stuck): counts them by stage for the
`fulfil_orders_stuck{stage}` gauge and publishes `OrderStuck` on operations.v1 once per
stay of an order in a stage, when it crosses the stage's threshold.

With nothing newly stuck a check is one read-only query (each stage an indexed range),
which every replica runs for its own gauge. Newly stuck orders are reported by one
replica at a time (an advisory lock): recorded in `stuck_reports` (its key makes each
report once, whoever runs it) and their events written to the outbox in the same
transaction, so a crash between the two repeats nothing and loses nothing. After each check
the reports of stays long over (older than `stuck_report_retention_days`) are purged.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import cast

import asyncpg
from prometheus_client import Gauge

from services.order import repository
from services.order.deps import Deps
from services.order.domain import stuck as domain
from services.order.domain.stuck import STAGES, Thresholds
from shared import db
from shared.contracts.events.order import OrderStuck, StuckStage
from shared.logging import get_logger
from shared.runtime import Runtime
from shared.unit import Service, Unit

log = get_logger(__name__)

ORDERS_STUCK = Gauge(
    "fulfil_orders_stuck", "Orders that stayed in a stage past its threshold", ["stage"]
)
BATCH = 500  # newly stuck orders reported per transaction


def thresholds_of(thresholds: Thresholds) -> dict[str, float | None]:
    return {stage: thresholds.of(stage) for stage in STAGES}


async def watch_stuck(runtime: Runtime[Deps]) -> None:
    """The order service's background task: a check every `stuck_check_seconds`."""
    settings = runtime.deps.settings
    while True:
        try:
            await check(runtime, settings.stuck_thresholds)
            async with runtime.db.acquire() as conn:
                await repository.purge_stuck_reports(conn, settings.stuck_report_retention_days)
        except Exception as exc:
            if not db.is_transient(exc):
                raise
            log.warning("stuck-order check failed; retrying", error=repr(exc))
        await asyncio.sleep(settings.stuck_check_seconds)


async def check(
    service: Service[Deps], thresholds: Thresholds, now: datetime | None = None
) -> list[OrderStuck] | None:
    """One check at `now` (the real clock by default): the events it published, or None
    when another replica was reporting. Every replica counts (one read-only query, so each
    exports a current gauge); only the one holding the lock reports."""
    at = now or datetime.now(UTC)
    limits = thresholds_of(thresholds)
    async with service.db.acquire() as conn:
        counts = await repository.count_stuck(conn, limits, at)
    for stage in STAGES:
        ORDERS_STUCK.labels(stage).set(counts.get(stage, (0, 0))[0])
    reported: list[OrderStuck] = []
    if not any(fresh for _, fresh in counts.values()):
        return reported
    while True:
        async with service.unit() as unit:
            unit.now = at
            if not await repository.lock_stuck_check(unit.conn):
                return None
            found = await repository.stuck(unit.conn, limits, at, unreported=True, limit=BATCH)
            reported += await _report(unit, found)
        if len(found) < BATCH:
            return reported


async def _report(unit: Unit[Deps], found: list[asyncpg.Record]) -> list[OrderStuck]:
    by_key = {(f["order_id"], f["stage"], f["since"]): f for f in found}
    events = []
    for key in await repository.report_stuck(unit.conn, found):
        f = by_key[key]
        stage = cast(StuckStage, f["stage"])
        event = OrderStuck(
            order_id=f["order_id"],
            stage=stage,
            since=f["since"],
            threshold_seconds=domain.allowed_seconds(f["since"], f["due_at"]),
            detail=domain.describe(stage, f["anchor"]),
        )
        await unit.emit(event, order_id=f["order_id"])
        log.warning("order stuck", order_id=f["order_id"], stage=stage, since=f["since"])
        events.append(event)
    return events
