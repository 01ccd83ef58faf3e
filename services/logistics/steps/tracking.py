"""Tracking through a real carrier (Kuaidi100): the pushes it sends and the polling
fallback for parcels whose pushes stopped (the subscription is `steps/subscription.py`).

Pushes and polls give the whole tracking history each time; every step of it goes
through the checkpoint step the sandbox's webhook uses (`shipping.checkpoint_posted`),
so a step seen before is recorded once and a late one only joins the timeline.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from services.logistics.carriers import kuaidi100
from services.logistics.carriers.base import BookingError
from services.logistics.carriers.kuaidi100 import Kuaidi100Carrier
from services.logistics.deps import Deps
from services.logistics.domain.shipping import Shipment
from services.logistics.repository import shipments as shipments_repo
from services.logistics.repository import tracking as repo
from services.logistics.steps import shipping
from shared.logging import get_logger
from shared.unit import Service, Unit

PARALLEL_QUERIES = 4
log = get_logger(__name__)


async def reported(
    unit: Unit[Deps], courier: str, result: Mapping[str, Any], *, pushed: bool
) -> tuple[Shipment, int] | None:
    """A tracking report (a push's `lastResult`, a query's answer) of one parcel: each step
    taken as a checkpoint, oldest first; the shipment and how many steps were new (None for
    a parcel the courier does not have with us)."""
    number = str(result.get("nu") or "")
    steps = kuaidi100.checkpoints(result)
    # each report repeats the whole history: what was taken before is skipped in one read
    known = await repo.known_checkpoints(unit.conn, courier, [c.checkpoint_id for c in steps])
    found: tuple[Shipment, bool] | None = None
    fresh = 0
    for checkpoint in (c for c in steps if c.checkpoint_id not in known):
        found = await shipping.checkpoint_posted(unit, courier, number, checkpoint)
        if found is None:
            return None
        fresh += found[1]
    if found is None:  # nothing to take yet: the parcel must still be ours
        parcel = await shipments_repo.tracked_parcel(unit.conn, courier, number)
        if parcel is None:
            return None
        found = (parcel[0], False)
    await repo.heard(unit.conn, courier, number, unit.now, pushed=pushed)
    return found[0], fresh


async def label(unit: Unit[Deps], shipment_id: str) -> str | None:
    """The label a real carrier printed for the parcel (a link), if it did."""
    return await repo.label_of(unit.conn, shipment_id)


async def poll_silent(runtime: Service[Deps]) -> None:
    """Background task: every `tracking_poll_seconds`, the parcels on their way that no push
    or poll told of for `tracking_silent_seconds` are asked of their carrier, a bounded
    batch per pass, by one replica at a time (an advisory lock)."""
    settings = runtime.deps.settings
    couriers = [n for n, c in runtime.deps.carriers.items() if isinstance(c, Kuaidi100Carrier)]
    if not couriers or settings.tracking_poll_seconds <= 0:
        return
    lanes = asyncio.Semaphore(PARALLEL_QUERIES)
    while True:
        await asyncio.sleep(settings.tracking_poll_seconds)
        try:
            await poll_once(runtime, couriers, lanes)
        except asyncio.CancelledError:
            raise
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("tracking poll failed; trying again", error=repr(exc))
        except Exception:  # a bug in one report must not stop tracking the others
            log.exception("tracking poll failed unexpectedly; trying again")


async def poll_once(
    runtime: Service[Deps], couriers: list[str], lanes: asyncio.Semaphore | None = None
) -> int:
    """One pass; how many parcels were asked for."""
    settings = runtime.deps.settings
    now = datetime.now(UTC)
    silent_since = now - timedelta(seconds=settings.tracking_silent_seconds)
    async with runtime.db.acquire() as conn, conn.transaction():
        parcels = await repo.claim_silent(
            conn, couriers, silent_since, now, settings.tracking_poll_batch
        )
    if not parcels:
        return 0
    lanes = lanes or asyncio.Semaphore(PARALLEL_QUERIES)
    await asyncio.gather(*(_ask(runtime, lanes, parcel) for parcel in parcels))
    return len(parcels)


async def _ask(
    runtime: Service[Deps], lanes: asyncio.Semaphore, parcel: repo.TrackedParcel
) -> None:
    """One silent parcel: its tracking asked of the carrier (a read, outside any
    transaction), then taken in a unit of its own. After a failure the parcel is asked
    again at the next pass (not only once silent again)."""
    carrier = runtime.deps.carriers.get(parcel.courier)
    assert isinstance(carrier, Kuaidi100Carrier)
    async with lanes:
        try:
            result = await carrier.query(parcel.tracking_number, parcel.phone_tail, parcel.company)
        except BookingError as exc:  # the carrier's answer, a timeout or no connection
            log.warning("tracking query failed", shipment_id=parcel.shipment_id, error=exc.reason)
            async with runtime.db.acquire() as conn:
                await repo.unpolled(conn, parcel.shipment_id)
            return
    if result is None:
        return
    async with runtime.unit() as unit:
        taken = await reported(unit, parcel.courier, result, pushed=False)
    if taken is not None:
        log.info("tracking polled", shipment_id=parcel.shipment_id, new_checkpoints=taken[1])
