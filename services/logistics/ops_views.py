"""Logistics' operations routes: stock at or below its low-stock threshold (`fulfil stock`,
the console's low-stock panel), behind the operations key."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from services.logistics import repository
from services.logistics.deps import Deps
from shared.http import require_role, service_of
from shared.openapi import errors

router = APIRouter(prefix="/v1/ops", tags=["operations"])


@router.get("/low-stock", responses=errors(401, 403, 422))
async def low_stock(
    request: Request, limit: Annotated[int, Query(ge=1, le=5000)] = 500
) -> dict[str, Any]:
    """Each SKU and warehouse whose available units (on hand less reserved) are at or below
    its threshold, the least available first."""
    require_role(request, "ops")
    async with service_of(request, Deps).db.acquire() as conn:
        found = await repository.low_stock(conn, limit)
    return {"service": "logistics", "low_stock": found}
