"""The order service's operations routes: stuck orders (`fulfil stuck`) and the search of
orders by id, phone or email (`fulfil search`), whose results show contacts masked."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from services.order import repository
from services.order.deps import Deps
from services.order.domain import stuck as domain
from services.order.domain.search import search_key
from services.order.domain.stuck import STAGES
from services.order.stuck import thresholds_of
from shared import cursors
from shared.contracts.events.order import StuckStage
from shared.http import Unprocessable, require_role, service_of
from shared.masking import mask
from shared.openapi import errors

router = APIRouter(prefix="/ops", tags=["operations"])


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


@router.get("/stuck", responses=errors(401, 403, 422))
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


class FoundOrderOut(BaseModel):
    order_id: str
    stage: str
    placed_at: datetime
    total: dict[str, Any]
    contact: dict[str, Any]
    recipient: str | None


class SearchOut(BaseModel):
    matched_by: str
    orders: list[FoundOrderOut]
    next_cursor: str | None


@router.get("/orders", responses=errors(401, 403, 422))
async def search_orders(
    request: Request,
    q: Annotated[str, Query(min_length=1, max_length=254, description="order id, phone, email")],
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[
        str | None, Query(max_length=300, description="`next_cursor` of the page before")
    ] = None,
) -> SearchOut:
    """Orders whose id, customer's or recipient's phone, or customer's email is `q` (phones
    compared as + and digits, emails whatever their case), newest first; contacts masked."""
    require_role(request, "ops")
    key = search_key(q)
    if key is None:
        message = "an order id (ord_...), a phone number (+86 138 ...) or an email address"
        raise Unprocessable(
            "invalid_query", message, field="q", fields=[{"field": "q", "message": message}]
        )
    after = cursors.after(cursor) if cursor else None
    async with service_of(request, Deps).db.acquire() as conn:
        rows = await repository.search(conn, *key, after, limit + 1)
    page = rows[:limit]
    found = [
        FoundOrderOut(
            order_id=r["order_id"],
            stage=r["stage"],
            placed_at=r["placed_at"],
            total={"amount": r["total_amount"], "currency": r["currency"]},
            contact=mask(r["contact"]),
            recipient=None if r["recipient"] is None else mask(r["recipient"], "recipient"),
        )
        for r in page
    ]
    more = len(rows) > limit
    last = page[-1] if more else None
    next_cursor = cursors.cursor(last["placed_at"], last["order_id"]) if last is not None else None
    return SearchOut(matched_by=key[0], orders=found, next_cursor=next_cursor)
