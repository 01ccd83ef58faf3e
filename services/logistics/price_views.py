"""The catalogue's prices for operations: set a SKU's selling price (recorded with its time
and published as PriceChanged, which price-difference refunds are checked against) and read
its history."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from services.logistics.deps import Deps
from services.logistics.repository import prices
from shared.contracts.envelope import Money
from shared.contracts.events.logistics import PriceChanged
from shared.http import BIGINT_MAX, CurrencyCode, NotFound, require_role, service_of
from shared.openapi import errors

router = APIRouter(prefix="/v1", tags=["operations"])
Sku = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")]


class PriceUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: int = Field(ge=1, le=BIGINT_MAX, description="minor units (fen, cents)")
    currency: CurrencyCode


def _history(sku: str, rows: list[Any]) -> dict[str, Any]:
    changes = [
        {"amount": r["amount"], "currency": r["currency"], "changed_at": r["changed_at"]}
        for r in rows
    ]
    return {"sku": sku, "current": changes[0] if changes else None, "history": changes}


@router.put("/prices/{sku}", responses=errors(401, 403, 422))
async def put_price(sku: Sku, body: PriceUpdate, request: Request) -> dict[str, Any]:
    """Sets the SKU's selling price from now on."""
    require_role(request, "ops")
    async with service_of(request, Deps).unit() as unit:
        await prices.record(unit.conn, sku, body.amount, body.currency, unit.now)
        price = Money(amount=body.amount, currency=body.currency)
        await unit.emit(PriceChanged(sku=sku, price=price, changed_at=unit.now), order_id=None)
        rows = await prices.history(unit.conn, sku)
    return _history(sku, rows)


@router.get("/prices/{sku}", responses=errors(401, 403, 404))
async def get_price(sku: Sku, request: Request) -> dict[str, Any]:
    require_role(request, "ops")
    async with service_of(request, Deps).db.acquire() as conn:
        rows = await prices.history(conn, sku)
    if not rows:
        raise NotFound("unknown_price", f"no price is recorded for {sku}")
    return _history(sku, rows)
