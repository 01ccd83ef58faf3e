"""The warehouse's operations routes, behind the operations key (LOGISTICS_WAREHOUSE_STEPS):
the pick list, the steps picked, packed and handed over, and the packing slip."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from services.logistics import packing_slip
from services.logistics import repository as repo
from services.logistics.deps import Deps
from services.logistics.domain.shipping import Shipment
from services.logistics.domain.warehouse import (
    NothingToPutBack,
    NotInWarehouse,
    OutOfOrder,
    Packing,
    PackingRefused,
    Stage,
    WarehouseEntry,
)
from services.logistics.steps import warehouse
from shared import cursors
from shared.http import Conflict, NotFound, PathId, require_role, service_of
from shared.openapi import errors
from shared.problems import Unprocessable

router = APIRouter(prefix="/v1/ops", tags=["operations"])
_STEP_ERRORS = errors(
    401,
    403,
    404,
    409,
    422,
    s404="no such shipment",
    s409="not the next step (names the current stage), or the shipment was stopped",
)


class PackedIn(BaseModel):
    weight_grams: int = Field(gt=0, le=500_000, description="the packed parcel's weight, grams")
    parcels: int = Field(default=1, ge=1, le=99, description="1: one parcel per shipment for now")


def _after(cursor: str) -> tuple[date, Any, str]:
    at, key = cursors.after(cursor)
    promised, _, shipment_id = key.partition("|")
    try:
        return date.fromisoformat(promised), at, shipment_id
    except ValueError as exc:
        message = "not a cursor this listing gave (next_cursor)"
        field = {"field": "cursor", "message": message}
        raise Unprocessable("invalid_cursor", message, field="cursor", fields=[field]) from exc


def _lines(lines: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return [
        {k: line.get(k) for k in ("sku", "name", "variant", "quantity")} for line in lines or []
    ]


def _waiting(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "shipment_id": row["shipment_id"],
        "order_id": row["order_id"],
        "stage": row["stage"],
        "courier": row["courier"],
        "promised_ship_date": row["promised_ship_date"].isoformat(),
        "expected_ship_date": row["expected_date"].isoformat(),
        "ready_at": row["ready_at"].isoformat(),
        "lines": _lines(row["lines"]),
        "gift_message": row["gift_message"],
        "warehouse": row["warehouse"],
        "parcel": {"number": row["parcel_number"], "of": row["parcel_count"]},
    }


@router.get("/pick-list", responses=errors(401, 403, 422))
async def pick_list(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[
        str | None, Query(max_length=300, description="`next_cursor` of the page before")
    ] = None,
) -> dict[str, Any]:
    """Shipments waiting in the warehouse (to pick, picked, packed), the earliest promised
    ship date first, then the earliest paid; `next_cursor` (null on the last page) fetches
    the next page. `to_put_back`: the stopped shipments whose picked goods wait to go back
    on the shelf (`GET /v1/ops/put-back`)."""
    require_role(request, "ops")
    after = _after(cursor) if cursor else None
    async with service_of(request, Deps).db.acquire() as conn:
        found = await repo.pick_list(conn, after, limit + 1)
        to_put_back = await repo.count_to_put_back(conn)
    page, more = found[:limit], len(found) > limit
    last = page[-1] if page else None
    next_cursor = (
        cursors.cursor(last["ready_at"], f"{last['promised_ship_date']}|{last['shipment_id']}")
        if more and last is not None
        else None
    )
    return {
        "pick_list": [_waiting(r) for r in page],
        "next_cursor": next_cursor,
        "to_put_back": to_put_back,
    }


async def _step(
    request: Request, shipment_id: str, step: Stage, packing: Packing | None = None
) -> dict[str, Any]:
    require_role(request, "ops")
    service = service_of(request, Deps)
    try:
        async with service.unit(correlation_id=request.headers.get("X-Correlation-ID")) as unit:
            found = await warehouse.advance(unit, shipment_id, step, packing)
    except OutOfOrder as exc:
        raise Conflict("out_of_order", str(exc), stage=exc.current.value) from exc
    except NotInWarehouse as exc:
        raise Conflict("not_in_warehouse", str(exc), parcel_status=exc.status.value) from exc
    except PackingRefused as exc:
        field = {"field": exc.field, "message": str(exc)}
        raise Unprocessable("invalid_packing", str(exc), field=exc.field, fields=[field]) from exc
    if found is None:
        raise NotFound("unknown_shipment", f"no shipment {shipment_id}")
    return _stepped(*found)


def _stepped(shipment: Shipment, entry: WarehouseEntry) -> dict[str, Any]:
    def at(moment: Any) -> str | None:
        return moment.isoformat() if moment is not None else None

    return {
        "shipment_id": shipment.shipment_id,
        "order_id": shipment.order_id,
        "status": shipment.status.value,
        "stage": entry.stage.value,
        "picked_at": at(entry.picked_at),
        "packed_at": at(entry.packed_at),
        "handed_over_at": at(entry.handed_over_at),
        "weight_grams": entry.weight_grams,
        "parcels": entry.parcels,
    }


@router.post("/shipments/{shipment_id}/picked", responses=_STEP_ERRORS)
async def picked(shipment_id: PathId, request: Request) -> dict[str, Any]:
    """The order's goods are off the shelf (ShipmentPicked). A repeat answers the same."""
    return await _step(request, shipment_id, Stage.PICKED)


@router.post("/shipments/{shipment_id}/packed", responses=_STEP_ERRORS)
async def packed(shipment_id: PathId, body: PackedIn, request: Request) -> dict[str, Any]:
    """The picked goods are packed, weighed (ShipmentPacked). One parcel per shipment for
    now: several are a 422 naming `parcels`. A repeat answers the first packing."""
    packing = Packing(weight_grams=body.weight_grams, parcels=body.parcels)
    return await _step(request, shipment_id, Stage.PACKED, packing)


@router.post("/shipments/{shipment_id}/handed-over", responses=_STEP_ERRORS)
async def handed_over(shipment_id: PathId, request: Request) -> dict[str, Any]:
    """The packed parcel is handed to the courier: it is booked (after commit, once per
    shipment) and so shipped (ShipmentShipped). A repeat books nothing again."""
    return await _step(request, shipment_id, Stage.HANDED_OVER)


@router.get("/put-back", responses=errors(401, 403, 422))
async def put_back_list(
    request: Request, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> dict[str, Any]:
    """Shipments stopped (a refund, a cancellation, a shortage) after their goods were
    picked or packed: the goods are off the shelf until the warehouse puts them back. The
    earliest picked first. Their units are no longer held for the order."""
    require_role(request, "ops")
    async with service_of(request, Deps).db.acquire() as conn:
        found = await repo.to_put_back(conn, limit)
    return {
        "put_back": [
            {
                "shipment_id": r["shipment_id"],
                "order_id": r["order_id"],
                "stage": r["stage"],
                "picked_at": r["picked_at"].isoformat(),
                "packed_at": r["packed_at"].isoformat() if r["packed_at"] else None,
                "lines": _lines(r["lines"]),
            }
            for r in found
        ]
    }


@router.post(
    "/shipments/{shipment_id}/put-back",
    responses=errors(
        401, 403, 404, 409, s404="no such shipment",
        s409="the shipment still ships, or nothing of it was picked",
    ),
)  # fmt: skip
async def put_back(shipment_id: PathId, request: Request) -> dict[str, Any]:
    """The goods of a shipment stopped after picking are back on the shelf; it leaves the
    put-back list. A repeat answers the same."""
    require_role(request, "ops")
    service = service_of(request, Deps)
    try:
        async with service.unit(correlation_id=request.headers.get("X-Correlation-ID")) as unit:
            found = await warehouse.put_back(unit, shipment_id)
    except NothingToPutBack as exc:
        status, stage = exc.status.value, exc.stage.value
        raise Conflict("nothing_to_put_back", str(exc), parcel_status=status, stage=stage) from exc
    except NotInWarehouse as exc:
        raise Conflict("not_in_warehouse", str(exc), parcel_status=exc.status.value) from exc
    if found is None:
        raise NotFound("unknown_shipment", f"no shipment {shipment_id}")
    shipment, entry = found
    back = entry.put_back_at
    return _stepped(shipment, entry) | {"put_back_at": back.isoformat() if back else None}


@router.get(
    "/shipments/{shipment_id}/packing-slip",
    response_class=HTMLResponse,
    responses=errors(401, 403, 404, s404="no such shipment"),
)
async def slip(shipment_id: PathId, request: Request) -> HTMLResponse:
    """The packing slip (HTML): items, quantities and variants, the gift message, the
    delivery address and the return instructions in the order's language."""
    require_role(request, "ops")
    async with service_of(request, Deps).db.acquire() as conn:
        found = await repo.packing_slip(conn, shipment_id)
    if found is None:
        raise NotFound("unknown_shipment", f"no shipment {shipment_id}")
    return HTMLResponse(packing_slip.render(found))
