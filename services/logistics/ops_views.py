"""Logistics' operations routes, behind the operations key: stock at or below its
low-stock threshold (`fulfil stock`, the console's low-stock panel), and a parcel the
warehouse received back when the courier never reported it there."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from services.logistics import repository
from services.logistics.deps import Deps
from services.logistics.domain.shipments import NotReturning
from services.logistics.steps import shipping
from shared.http import Conflict, NotFound, PathId, require_role, service_of
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


@router.post(
    "/shipments/{shipment_id}/returned",
    responses=errors(
        401, 403, 404, 409, s404="no such shipment", s409="the parcel is not going back"
    ),
)
async def shipment_returned(shipment_id: PathId, request: Request) -> dict[str, Any]:
    """The warehouse received back a parcel going back to the shop (refused at the door, or
    undeliverable) that the courier never reported there: as the courier's report would,
    its goods go back on the shelf and the shop is told (`ShipmentReturnedToShop`), once.
    A repeat answers the same; a parcel not going back is a 409 naming its status."""
    require_role(request, "ops")
    service = service_of(request, Deps)
    try:
        async with service.unit(correlation_id=request.headers.get("X-Correlation-ID")) as unit:
            found = await shipping.received_back(unit, shipment_id)
    except NotReturning as exc:
        status = exc.status.value
        raise Conflict("not_returning", str(exc), parcel_status=status) from exc
    if found is None:
        raise NotFound("unknown_shipment", f"no shipment {shipment_id}")
    shipment, restocked = found
    return {
        "shipment_id": shipment.shipment_id,
        "order_id": shipment.order_id,
        "status": shipment.status.value,
        "returned_at": shipment.returned_at.isoformat() if shipment.returned_at else None,
        "restocked": [line.model_dump(mode="json") for line in restocked],
    }
