"""The sandbox carrier's own edge, mounted on the logistics app outside production:
`POST /sandbox/carriers/{carrier}/parcels/{tracking}/advance` makes the courier report
the parcel's next checkpoint, `.../refuse` makes it report the recipient refusing the
parcel at the door (its script is then the way back to the shop), and `auto_advance`
walks every parcel on its way (to the customer, or back) through the script on its own
(the demo uses it). Each step reads what the courier needs (the checkpoints reported so
far, the destination) with the parcel, in one query.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from fastapi import APIRouter, Request

from services.logistics import repository as repo
from services.logistics.carriers.sandbox import (
    PARALLEL_PARCELS,
    SandboxParcel,
    next_checkpoint,
    post_checkpoint,
    refusal,
)
from services.logistics.deps import Deps
from shared import db
from shared.http import Conflict, NotFound, service_of
from shared.http_client import Unreachable
from shared.logging import get_logger
from shared.unit import Service

QUIET_BATCH = 100  # parcels one pass moves
# The longest sleep: a safety net for a lost NOTIFY (the listener reconnecting).
IDLE_SECONDS = 300.0
ON_ITS_WAY = ("shipped", "in_transit", "out_for_delivery")  # what a recipient may refuse
router = APIRouter(prefix="/sandbox/carriers", tags=["sandbox"])
log = get_logger(__name__)


async def advance(
    service: Service[Deps], carrier: str, tracking_number: str
) -> dict[str, Any] | None:
    """Posts the parcel's next checkpoint to the webhook; None when there is no such parcel."""
    parcel = await _parcel(service, carrier, tracking_number)
    return None if parcel is None else await report(service, parcel)


async def report(service: Service[Deps], parcel: SandboxParcel) -> dict[str, Any]:
    """Posts the checkpoint that follows what `parcel` says was reported (read with it): the
    next step to the customer or, for a parcel going back, the next on the way back."""
    origin, now = service.deps.settings.sandbox_origin_city, datetime.now(UTC)
    homeward = parcel.homeward if parcel.going_back else None
    checkpoint = next_checkpoint(
        parcel.tracking_number, parcel.step, origin, parcel.destination, now, homeward=homeward
    )
    if checkpoint is None or parcel.status == "returned":  # back at the shop: nothing follows
        return {"checkpoint": None, "webhook_status": None, "parcel_status": parcel.status}
    return await _post(service, parcel, checkpoint)


async def _post(
    service: Service[Deps], parcel: SandboxParcel, checkpoint: dict[str, Any]
) -> dict[str, Any]:
    settings, http = service.deps.settings, service.deps.sandbox_http
    assert http is not None, "built whenever the sandbox runs"
    secret = settings.carrier_webhook_secret.get_secret_value()
    answer = await post_checkpoint(http, settings.base_url, parcel.courier, secret, checkpoint)
    return {"checkpoint": checkpoint, "webhook_status": answer.status}


async def _parcel(
    service: Service[Deps], carrier: str, tracking_number: str
) -> SandboxParcel | None:
    async with service.db.acquire() as conn:
        return await repo.sandbox_parcel(conn, carrier, tracking_number)


@router.post("/{carrier}/parcels/{tracking_number}/advance")
async def advance_parcel(carrier: str, tracking_number: str, request: Request) -> dict[str, Any]:
    outcome = await advance(service_of(request, Deps), carrier, tracking_number)
    if outcome is None:
        raise NotFound("unknown_parcel", f"{carrier} has no parcel {tracking_number}")
    if outcome["checkpoint"] is None:
        status = outcome["parcel_status"]
        where = {"returned": "back at the shop"}.get(status, status)
        raise Conflict(status, f"the parcel is {where}; nothing follows", parcel_status=status)
    return outcome


@router.post("/{carrier}/parcels/{tracking_number}/refuse")
async def refuse_parcel(carrier: str, tracking_number: str, request: Request) -> dict[str, Any]:
    """The recipient refuses the parcel at the door: the courier reports it (a signed
    `refused` checkpoint to the webhook), and walks the parcel back to the shop from then
    on. Only a parcel on its way to the customer can be refused (409 names its status)."""
    service = service_of(request, Deps)
    parcel = await _parcel(service, carrier, tracking_number)
    if parcel is None:
        raise NotFound("unknown_parcel", f"{carrier} has no parcel {tracking_number}")
    if parcel.status not in ON_ITS_WAY:
        raise Conflict(
            "not_on_its_way",
            f"the parcel is {parcel.status}: only a parcel on its way can be refused",
            parcel_status=parcel.status,
        )
    origin, now = service.deps.settings.sandbox_origin_city, datetime.now(UTC)
    checkpoint = refusal(parcel.tracking_number, parcel.step, origin, parcel.destination, now)
    return await _post(service, parcel, checkpoint)


async def auto_advance(runtime: Service[Deps]) -> None:
    """Background task: every parcel quiet for the configured seconds moves one step. It
    sleeps until the next parcel on its way falls quiet; with none on its way, until one
    sets off (the `parcels` NOTIFY of the transaction that ships it), so an idle service
    does not read."""
    every = runtime.deps.settings.auto_advance_seconds
    if every <= 0:
        return
    couriers = list(runtime.deps.carriers)
    lanes = asyncio.Semaphore(PARALLEL_PARCELS)  # parcels move independently, like real couriers
    async with db.woken_by(runtime.settings.database_url, "parcels") as woken:
        while True:
            woken.clear()  # a parcel shipped from now on is seen by this pass or wakes the next
            wait = await _advance_quiet(runtime, couriers, lanes, every)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(woken.wait(), wait)


async def _advance_quiet(
    runtime: Service[Deps], couriers: list[str], lanes: asyncio.Semaphore, every: float
) -> float:
    """Moves the parcels quiet for `every` seconds one step; returns how long to sleep."""
    try:
        async with runtime.db.acquire() as conn:
            now = datetime.now(UTC)
            parcels, next_heard = await repo.quiet_parcels(
                conn, couriers, now - timedelta(seconds=every), limit=QUIET_BATCH
            )
        outcomes = await asyncio.gather(
            *(_report_bounded(runtime, lanes, parcel) for parcel in parcels),
            return_exceptions=True,
        )
        for failed in [o for o in outcomes if isinstance(o, BaseException)][:1]:
            raise failed
    except (OSError, Unreachable, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        log.warning("sandbox auto-advance failed; trying again", error=repr(exc))
        return every
    if len(parcels) >= QUIET_BATCH:
        return 0.0  # more are quiet than one pass takes
    wait = IDLE_SECONDS if next_heard is None else (next_heard - now).total_seconds() + every
    if parcels:  # those just moved fall quiet again after `every`
        wait = min(wait, every)
    return max(wait, 0.0)


async def _report_bounded(
    runtime: Service[Deps], lanes: asyncio.Semaphore, parcel: SandboxParcel
) -> None:
    """One parcel's next step, from what the quiet-parcels read told of it: no read more."""
    async with lanes:
        await report(runtime, parcel)
