"""Backorders for operations: goods received (served to the orders that wait, first come,
first served), the date a SKU is expected back, and the queue of a SKU's backorders."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from services.logistics.deps import Deps
from services.logistics.domain.backorders import Backorder
from services.logistics.repository import backorders as bo_repo
from services.logistics.steps import backorders, stock
from services.logistics.views import stock_view
from shared.http import INT_MAX, Conflict, NotFound, StorableText, require_role, service_of
from shared.openapi import errors
from shared.problems import Unprocessable

router = APIRouter(prefix="/v1", tags=["operations"])
Sku = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")]


class Receipt(BaseModel):
    model_config = ConfigDict(extra="forbid")

    quantity: int = Field(ge=1, le=INT_MAX, description="units received")
    warehouse: StorableText | None = Field(
        default=None, min_length=1, max_length=64, description="default: the main warehouse"
    )
    receipt_id: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$",
        description="the delivery's own id: the same receipt sent again adds nothing",
    )


@router.post(
    "/stock/{sku}/receipts",
    status_code=201,
    responses=errors(401, 403, 404, 409, 422, s409="the receipt id names another receipt"),
)
async def receive(sku: Sku, body: Receipt, request: Request) -> dict[str, Any]:
    """Goods received on a warehouse's shelf. The backorders short of the SKU take them
    first, the oldest first (each takes what it is short of before the next gets any); an
    order that then holds every unit ships whole. With a `receipt_id`, the same receipt
    sent again changes nothing and answers as the first time did."""
    require_role(request, "ops")
    service = service_of(request, Deps)
    warehouse = body.warehouse or service.deps.settings.default_warehouse
    async with service.unit(correlation_id=request.headers.get("X-Correlation-ID")) as unit:
        if not await stock.rows_of(unit, sku):
            raise NotFound("unknown_sku", f"no stock is recorded for {sku}")
        done = await backorders.receive(unit, sku, warehouse, body.quantity, body.receipt_id)
        rows = await stock.rows_of(unit, sku)
    if (done["sku"], done["warehouse"], done["quantity"]) != (sku, warehouse, body.quantity):
        message = f"receipt {done['receipt_id']} was recorded for other goods"
        field = {"field": "receipt_id", "message": message}
        raise Conflict("receipt_conflict", message, fields=[field])
    return {**_receipt(done), "stock": stock_view(sku, rows)}


def _receipt(done: dict[str, Any]) -> dict[str, Any]:
    received_at = done["received_at"]
    return {
        "receipt_id": done["receipt_id"],
        "sku": done["sku"],
        "warehouse": done["warehouse"],
        "quantity": done["quantity"],
        "received_at": received_at.isoformat() if isinstance(received_at, datetime) else None,
        "served": done["served"],
        "repeated": done["repeated"],
    }


class RestockDate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expected_on: date | None = Field(description="ISO date; null: not known")


@router.put("/stock/{sku}/restock-date", responses=errors(401, 403, 404, 422))
async def put_restock_date(sku: Sku, body: RestockDate, request: Request) -> dict[str, Any]:
    """The date operations expect the SKU back: the backorder messages tell it. A change
    that moves the latest date of a backorder still open or waiting for the SKU tells that
    order (`told`: how many); the same date again tells nobody."""
    require_role(request, "ops")
    service = service_of(request, Deps)
    today = datetime.now(service.deps.calendar.time_zone).date()
    if body.expected_on is not None and body.expected_on < today:
        message = f"expected_on {body.expected_on} is in the past"
        raise Unprocessable(
            "invalid_request", message, fields=[{"field": "expected_on", "message": message}]
        )
    async with service.unit(correlation_id=request.headers.get("X-Correlation-ID")) as unit:
        if not await stock.rows_of(unit, sku):
            raise NotFound("unknown_sku", f"no stock is recorded for {sku}")
        told = await backorders.restock_date(unit, sku, body.expected_on)
    return {"sku": sku, "expected_on": body.expected_on, "told": told}


@router.get("/stock/{sku}/backorders", responses=errors(401, 403))
async def list_backorders(sku: Sku, request: Request) -> dict[str, Any]:
    """The orders that wait for the SKU, in the order a restock serves them: `quantity`
    of this SKU still short, `held` of it held already."""
    require_role(request, "ops")
    async with service_of(request, Deps).db.acquire() as conn:
        queue = await bo_repo.queue(conn, [sku], lock=False)
        dates = await bo_repo.restock_dates(conn, [sku])
    return {
        "sku": sku,
        "restock_expected": dates.get(sku),
        "backorders": [e for e in (_entry(b, sku) for b in queue) if e["quantity"] > 0],
    }


def _entry(b: Backorder, sku: str) -> dict[str, Any]:
    lines = [x for x in b.lines if x.sku == sku]
    return {
        "order_id": b.order_id,
        "state": b.state,
        "quantity": sum(x.missing for x in lines),
        "held": sum(x.held + x.filled for x in lines),
        "since": b.queued_at,
        "choose_by": b.choose_by if b.state == "open" else None,
    }
