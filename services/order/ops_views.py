"""The order service's operations routes: stuck orders (`fulfil stuck` calls them)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from services.order import repository
from services.order.deps import Deps
from services.order.domain import stuck as domain
from services.order.domain.stuck import STAGES
from services.order.stuck import thresholds_of
from shared.contracts.events.order import StuckStage
from shared.http import require_role, service_of
from shared.openapi import errors

router = APIRouter(prefix="/ops/stuck", tags=["operations"])


class StuckOrderOut(BaseModel):
    order_id: str
    stage: StuckStage
    since: datetime
    waited_seconds: float
    threshold_seconds: int
    detail: str


class StuckOut(BaseModel):
    service: str
    checked_at: datetime
    stuck: list[StuckOrderOut]


@router.get("", responses=errors(401, 403, 422))
async def list_stuck(
    request: Request,
    stage: StuckStage | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> StuckOut:
    """Orders that stayed in a stage past its threshold (`stage` alone, when given), the
    longest in their stage first. An order stuck in two stages is listed in each."""
    require_role(request, "ops")
    runtime = service_of(request, Deps)
    limits: dict[str, Any] = thresholds_of(runtime.deps.settings.stuck_thresholds)
    if stage is not None:
        limits = {name: limits[name] if name == stage else None for name in STAGES}
    now = datetime.now(UTC)
    async with runtime.db.acquire() as conn:
        rows = await repository.stuck(conn, limits, now, limit=limit)
    found = [
        StuckOrderOut(
            order_id=r["order_id"],
            stage=r["stage"],
            since=r["since"],
            waited_seconds=round((now - r["since"]).total_seconds(), 3),
            threshold_seconds=domain.allowed_seconds(r["since"], r["due_at"]),
            detail=domain.describe(r["stage"], r["anchor"]),
        )
        for r in rows
    ]
    return StuckOut(service="order", checked_at=now, stuck=found)
