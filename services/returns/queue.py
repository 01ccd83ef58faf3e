"""The queue of refund requests awaiting operations, across all orders, oldest first.

A request awaits operations while it is undecided (`requested`, or `return_shipped` with
the parcel on its way back) and is not a refund before shipping waiting for logistics'
answer: price differences, quality claims, parcels not received, returns to receive.
Operations list the queue here (ops key) and decide with the request's `approve` and
`reject` routes (services/returns/views.py). The gauge `fulfil_refund_requests_awaiting`
counts the queue, read only, with the service's other gauges (`gauges_seconds`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from prometheus_client import Gauge
from pydantic import AwareDatetime

from services.returns import exchange_repository as xrepo
from services.returns import repository as repo
from services.returns.deps import Deps
from services.returns.domain.records import RefundRequest
from shared import cursors
from shared.http import require_role, service_of
from shared.logging import get_logger
from shared.openapi import errors

if TYPE_CHECKING:
    import asyncpg

log = get_logger(__name__)
AWAITING = Gauge(
    "fulfil_refund_requests_awaiting",
    "Refund requests awaiting a decision or a return by operations",
)
router = APIRouter(prefix="/v1/ops", tags=["operations"])
# Flows a person decides; a refund before shipping is decided by its shipment's stop.
QueueFlow = Literal["no_return", "with_return"]


@router.get("/refund-requests", responses=errors(401, 403, 422))
async def awaiting_requests(
    request: Request,
    status: Literal["awaiting"] = "awaiting",
    flow: QueueFlow | None = None,
    before: Annotated[
        AwareDatetime | None, Query(description="only those requested before this time")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[
        str | None, Query(max_length=300, description="`next_cursor` of the page before")
    ] = None,
) -> dict[str, Any]:
    """Requests awaiting operations across all orders, oldest first, with how long each
    has waited; `next_cursor` (null on the last page) fetches the next page."""
    require_role(request, "ops")
    after = cursors.after(cursor) if cursor else None
    async with service_of(request, Deps).db.acquire() as conn:
        found = await repo.awaiting(conn, flow=flow, before=before, after=after, limit=limit + 1)
    now = datetime.now(UTC)
    page = found[:limit]
    more = len(found) > limit
    return {
        "status": status,
        "refund_requests": [_queued(r, now) for r in page],
        "next_cursor": cursors.cursor(page[-1].created_at, page[-1].id) if more else None,
    }


def _queued(r: RefundRequest, now: datetime) -> dict[str, Any]:
    return {
        "id": r.id,
        "order_id": r.order_id,
        "flow": r.flow,
        "reason": r.reason,
        "status": r.status,
        "amount": {"amount": r.amount, "currency": r.currency},
        "lines": [line.model_dump() for line in r.lines],
        "evidence_urls": list(r.evidence_urls),
        "requested_by": r.requested_by,
        "requested_at": r.created_at.isoformat(),
        "waited_seconds": max(0, int((now - r.created_at).total_seconds())),
    }


async def refresh_awaiting(conn: asyncpg.Connection) -> None:
    """The queue's gauge, from one count on its index, in the shared gauges' read-only
    transaction (shared/gauges.py); an unreachable database keeps the last value."""
    AWAITING.set(await repo.count_awaiting(conn))


@router.get("/exchanges", responses=errors(401, 403, 422))
async def exchanges_awaiting_return(
    request: Request,
    status: Literal["awaiting_return"] = "awaiting_return",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[
        str | None, Query(max_length=300, description="`next_cursor` of the page before")
    ] = None,
) -> dict[str, Any]:
    """Exchanges whose units operations still wait to receive back (the replacement held,
    or already sent for a quality problem), oldest first, with how long each has waited;
    `next_cursor` (null on the last page) fetches the next page."""
    require_role(request, "ops")
    after = cursors.after(cursor) if cursor else None
    async with service_of(request, Deps).db.acquire() as conn:
        found = await xrepo.awaiting_return(conn, after=after, limit=limit + 1)
    now = datetime.now(UTC)
    page, more = found[:limit], len(found) > limit
    return {
        "status": status,
        "exchanges": [
            {
                "id": x.id,
                "order_id": x.order_id,
                "status": x.status,
                "reason": x.reason,
                "line": x.line.model_dump(),
                "replacement_sku": x.replacement_sku,
                "return_tracking_number": x.return_tracking_number,
                "created_at": x.created_at.isoformat(),
                "waited_seconds": max(0, int((now - x.created_at).total_seconds())),
            }
            for x in page
        ],
        "next_cursor": cursors.cursor(page[-1].created_at, page[-1].id) if more else None,
    }
