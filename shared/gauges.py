"""Gauges read from a service's database: one read-only transaction a minute
(`gauges_seconds`), in the background, never on the hot path.

Every service refreshes the shared ones (dead letters pending by reason, timers due); a
service adds its own (`Refresh`, e.g. the order service's orders by status) through its
wiring. A labelled gauge is set from one query's rows: a label that is no longer found
goes to zero rather than keeping its last value.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence

import asyncpg
from prometheus_client import Gauge

from shared import db, metrics
from shared.logging import get_logger

log = get_logger(__name__)
REFRESH_SECONDS = 60.0

Refresh = Callable[[asyncpg.Connection], Awaitable[None]]
"""Reads what one or more gauges show, in the refresher's read-only transaction."""

_SHARED = """
SELECT 'dead_letters' AS gauge, reason AS label, count(*) AS value
  FROM dead_letters WHERE status = 'pending' GROUP BY reason
UNION ALL
SELECT 'timers_due', '', count(*) FROM timers WHERE state = 'pending' AND due_at <= now()
"""


class LabelledGauge:
    """Sets a one-label gauge from counted rows; labels seen before and missing now are
    set to zero."""

    def __init__(self, gauge: Gauge, labels: Iterable[str] = ()) -> None:
        self.gauge = gauge
        self._seen: set[str] = set(labels)  # shown (at zero) from the first refresh on

    def set(self, counts: Iterable[tuple[str, float]]) -> None:
        found = dict(counts)
        for label in self._seen - found.keys():
            self.gauge.labels(label).set(0)
        for label, value in found.items():
            self.gauge.labels(label).set(value)
        self._seen |= found.keys()


_DEAD_LETTERS = LabelledGauge(metrics.DEAD_LETTERS_PENDING)


async def refresh_shared(conn: asyncpg.Connection) -> None:
    rows = await conn.fetch(_SHARED)
    _DEAD_LETTERS.set((r["label"], r["value"]) for r in rows if r["gauge"] == "dead_letters")
    metrics.TIMERS_DUE.set(sum(r["value"] for r in rows if r["gauge"] == "timers_due"))


class GaugeRefresher:
    def __init__(
        self,
        pool: asyncpg.Pool,
        refreshes: Sequence[Refresh] = (),
        *,
        every_seconds: float = REFRESH_SECONDS,
    ) -> None:
        self.pool = pool
        self.refreshes = (refresh_shared, *refreshes)
        self.every_seconds = every_seconds

    async def refresh(self) -> None:
        """Every gauge, in one read-only transaction."""
        async with self.pool.acquire() as conn, conn.transaction(readonly=True):
            for refresh in self.refreshes:
                await refresh(conn)

    async def run(self) -> None:
        while True:
            try:
                await self.refresh()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not db.is_transient(exc):
                    raise
                log.warning("gauges not refreshed; retrying", error=repr(exc))
            await asyncio.sleep(self.every_seconds)
