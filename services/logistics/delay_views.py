"""Delays operations announce, behind the operations key: a sales peak, a courier's problem,
the weather (`PUT /v1/ops/delays/{delay_id}`, `fulfil delays announce`), and how far each
has reached its customers."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from services.logistics import repository as repo
from services.logistics.deps import Deps
from services.logistics.domain.delays import (
    MAX_DAYS,
    Announcement,
    AnnouncementRefused,
    Cause,
    Parcels,
)
from services.logistics.steps import delays
from shared.http import Conflict, NotFound, PathId, require_role, service_of
from shared.openapi import errors
from shared.problems import Unprocessable

router = APIRouter(prefix="/v1/ops", tags=["operations"])


class DelayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cause: Cause = Field(description="told to the customer in their language")
    expected_from: date = Field(
        description="the first date covered: parcels expected (to leave the warehouse, or to "
        "arrive once on their way) on it or later"
    )
    expected_to: date = Field(description="the last date covered, inclusive")
    days: int = Field(ge=1, le=MAX_DAYS, description="working days later each parcel now is")
    parcels: Parcels = Field(
        default="all", description="waiting in the warehouse, on their way, or all"
    )
    region: str | None = Field(
        default=None, min_length=1, max_length=100, description="only this delivery region"
    )
    courier: str | None = Field(
        default=None, min_length=1, max_length=50, description="only this courier's parcels"
    )


def _view(a: Announcement, progress: dict[str, int]) -> dict[str, Any]:
    return {
        "delay_id": a.delay_id,
        "cause": a.cause,
        "expected_from": a.expected_from.isoformat(),
        "expected_to": a.expected_to.isoformat(),
        "days": a.days,
        "parcels": a.parcels,
        "region": a.region,
        "courier": a.courier,
        "announced_at": a.announced_at.isoformat() if a.announced_at else None,
        "covered": progress["covered"],
        "told": progress["told"],
    }


@router.put(
    "/delays/{delay_id}",
    status_code=201,
    responses={
        200: {"description": "the same announcement again: nothing more is told"},
        **errors(401, 403, 409, 422, s409="another announcement was made under this id"),
    },
)
async def announce(
    delay_id: PathId, body: DelayIn, request: Request, response: Response
) -> dict[str, Any]:
    """Announces a delay: every parcel still to leave or on its way, expected within the
    range (and of the region, the courier and the parcels named), moves `days` working
    days later, and its customer is told once (ShipmentDelayAnnounced), as are the parcels
    that open or ship while the range has not passed. `covered`: the open parcels it
    covered when made, told in the seconds after; `told`: those told so far. The same
    announcement again answers the same (200); another under the same id is a 409."""
    require_role(request, "ops")
    service = service_of(request, Deps)
    asked = Announcement(
        delay_id=delay_id,
        cause=body.cause,
        expected_from=body.expected_from,
        expected_to=body.expected_to,
        days=body.days,
        parcels=body.parcels,
        region=body.region,
        courier=body.courier,
    )
    try:
        async with service.unit(correlation_id=request.headers.get("X-Correlation-ID")) as unit:
            made = replace(asked, announced_at=unit.now)
            stored, progress, new = await delays.announce(unit, made)
    except AnnouncementRefused as exc:
        field = {"field": exc.field, "message": str(exc)}
        raise Unprocessable("invalid_delay", str(exc), field=exc.field, fields=[field]) from exc
    except delays.AnnouncementTaken as exc:
        raise Conflict("delay_exists", str(exc)) from exc
    if not new:
        response.status_code = 200
    return _view(stored, progress)


@router.get("/delays", responses=errors(401, 403, 422))
async def announced(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    in_force: Annotated[bool, Query(description="only those whose range has not passed")] = False,
) -> dict[str, Any]:
    """The delays announced, the latest first, each with the parcels it covered when made
    and those told so far."""
    require_role(request, "ops")
    service = service_of(request, Deps)
    today = service.deps.calendar.local_date(datetime.now(UTC))
    async with service.db.acquire() as conn:
        found = await repo.delay_announcements(conn, limit, in_force_on=today if in_force else None)
    return {"delays": [_view(a, progress) for a, progress in found]}


@router.get("/delays/{delay_id}", responses=errors(401, 403, 404, s404="no such announcement"))
async def delay(delay_id: PathId, request: Request) -> dict[str, Any]:
    """One announcement, with the parcels it covered when made and those told so far."""
    require_role(request, "ops")
    async with service_of(request, Deps).db.acquire() as conn:
        found = await repo.delay_announcement(conn, delay_id)
    if found is None:
        raise NotFound("unknown_delay", f"no delay announced as {delay_id}")
    return _view(*found)
