"""HTTP routes of the logistics service: stock for operations, the carriers' checkpoint
webhook, and an order's shipment with its tracking timeline."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Query, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from services.logistics import catalogue
from services.logistics.carriers import kuaidi100_signing
from services.logistics.carriers.kuaidi100 import Kuaidi100Carrier
from services.logistics.deps import Deps
from services.logistics.domain.shipping import Checkpoint, CheckpointStatus, Shipment
from services.logistics.domain.stock import Count, CountBelowParcels
from services.logistics.steps import orders, shipping, stock, subscription, tracking
from shared.contracts.envelope import Money
from shared.http import (
    INT_MAX,
    Conflict,
    NotFound,
    PathId,
    StorableText,
    order_access,
    parse_body,
    require_role,
    service_of,
    signed_body,
)
from shared.openapi import errors
from shared.problems import Unauthorized, Unprocessable

router = APIRouter(prefix="/v1", tags=["logistics"])


class StockUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    on_hand: int = Field(ge=0, le=INT_MAX)
    low_stock_threshold: int = Field(default=0, ge=0, le=INT_MAX)
    warehouse: StorableText | None = Field(default=None, min_length=1, max_length=64)
    name: StorableText | None = Field(default=None, max_length=200)
    variant: StorableText | None = Field(default=None, max_length=200)


def stock_view(sku: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    warehouses = [
        {
            "warehouse": r["warehouse"],
            "on_hand": r["on_hand"],
            "reserved": r["reserved"],
            "available": r["on_hand"] - r["reserved"],
            "low_stock_threshold": r["low_stock_threshold"],
        }
        for r in rows
    ]
    names = [r["name"] for r in rows if r["name"]]
    variants = [r["variant"] for r in rows if r["variant"]]
    return {
        "sku": sku,
        "name": names[0] if names else None,
        "variant": variants[0] if variants else None,
        "on_hand": sum(w["on_hand"] for w in warehouses),
        "reserved": sum(w["reserved"] for w in warehouses),
        "available": sum(w["available"] for w in warehouses),
        "warehouses": warehouses,
    }


@router.put(
    "/stock/{sku}",
    responses=errors(401, 403, 409, s409="below the units of parcels handed to the courier"),
)
async def put_stock(sku: PathId, body: StockUpdate, request: Request) -> dict[str, Any]:
    """Sets a SKU's count on hand and its low-stock threshold in one warehouse.

    A count below what unshipped orders hold is recorded too (a miscount found): orders
    keep their units oldest reservation first, and each order that no longer fits is
    cancelled as a stock shortage (refunded if paid, with an apology), so the newest go
    first. Shipped orders are not affected; nothing stays reserved beyond the count."""
    require_role(request, "ops")
    service = service_of(request, Deps)
    warehouse = body.warehouse or service.deps.settings.default_warehouse
    counted = Count(sku, warehouse, body.on_hand, body.low_stock_threshold, body.name, body.variant)
    try:
        async with service.unit(correlation_id=_correlation(request)) as unit:
            await orders.count(unit, counted)
            rows = await stock.rows_of(unit, sku)
    except CountBelowParcels as exc:
        field = {"field": "on_hand", "message": str(exc)}
        raise Conflict("count_below_parcels", str(exc), fields=[field]) from exc
    return stock_view(sku, rows)


@router.get("/stock/{sku}", responses=errors(401, 403, 404))
async def get_stock(sku: PathId, request: Request) -> dict[str, Any]:
    require_role(request, "ops")
    async with service_of(request, Deps).unit(correlation_id=_correlation(request)) as unit:
        rows = await stock.rows_of(unit, sku)
    if not rows:
        raise NotFound("unknown_sku", f"no stock is recorded for {sku}")
    return stock_view(sku, rows)


@router.post("/stock/catalogue", responses=errors(401, 403))
async def load_catalogue(request: Request) -> dict[str, Any]:
    """Loads the demo catalogue: every SKU not yet stocked gets its demo count."""
    require_role(request, "ops")
    items = catalogue.items()
    async with service_of(request, Deps).unit(correlation_id=_correlation(request)) as unit:
        added = await stock.stock_missing(unit, items)
    return {"added": added, "skus": [item["sku"] for item in items]}


class CheckpointBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    tracking_number: StorableText = Field(min_length=1, max_length=64)
    checkpoint_id: StorableText = Field(min_length=1, max_length=128)
    checkpoint_at: AwareDatetime
    city: StorableText = Field(min_length=1, max_length=100)
    status: CheckpointStatus
    description: StorableText = Field(default="", max_length=500)
    # cash on delivery: the amount the courier collected, on its delivered report
    collected: Money | None = None


@router.post(
    "/webhooks/carriers/{carrier}",
    responses=errors(400, 401, 404, s401="a missing or bad signature"),
)
async def carrier_checkpoint(carrier: PathId, request: Request) -> dict[str, Any]:
    """A courier's tracking checkpoint, signed like the payment callbacks. `refused`
    (at the door), `returned` (sent back) and `returned_to_shop` (back at the shop) take a
    parcel back to the shop, as does the last of its failed attempts."""
    service = service_of(request, Deps)
    raw = await signed_body(request, service.deps.settings.carrier_webhook_secret)
    if carrier not in service.deps.carriers:
        raise NotFound("unknown_carrier", f"{carrier} is not a configured courier")
    body = parse_body(CheckpointBody, raw)
    collected = body.collected.model_dump() if body.collected else None
    checkpoint = Checkpoint(
        body.checkpoint_id, body.checkpoint_at, body.city, body.status, body.description, collected
    )
    async with service.unit(correlation_id=_correlation(request)) as unit:
        taken = await shipping.checkpoint_posted(unit, carrier, body.tracking_number, checkpoint)
    if taken is None:
        raise NotFound("unknown_parcel", f"{carrier} has no parcel {body.tracking_number}")
    shipment, fresh = taken
    return {"accepted": True, "duplicate": not fresh, "shipment_id": shipment.shipment_id}


@router.post(
    "/webhooks/kuaidi100",
    responses=errors(401, 404, 422, s401="a missing or bad sign (MD5 of param and our salt)"),
)
async def kuaidi100_push(
    request: Request, courier: str = Query(min_length=1, max_length=64)
) -> dict[str, Any]:
    """Kuaidi100's tracking push: a form with `param` (JSON, the parcel's whole tracking in
    `lastResult`) and `sign` = MD5(param + salt); answered as Kuaidi100 expects, or it
    pushes again. `courier` (ours, e.g. `sf`) is in the callback URL we subscribed with."""
    service = service_of(request, Deps)
    carrier = service.deps.carriers.get(courier)
    if not isinstance(carrier, Kuaidi100Carrier):
        raise NotFound("unknown_carrier", f"{courier} is not tracked through kuaidi100")
    raw = (await request.body()).decode("utf-8", "replace")
    form = dict(parse_qsl(raw, keep_blank_values=True))
    try:
        kuaidi100_signing.verify_push(form.get("param"), form.get("sign"), carrier.account.salt)
    except kuaidi100_signing.SignatureError as exc:
        raise Unauthorized("bad_signature", str(exc)) from exc
    push = _push_body(form["param"])
    number = str(push.lastResult["nu"])
    async with service.unit(correlation_id=_correlation(request)) as unit:
        taken = await tracking.reported(unit, courier, push.lastResult, pushed=True)
        if taken is not None:  # an ended subscription is made again (status abort)
            await subscription.pushed_status(unit, courier, number, push.model_dump())
    if taken is None:
        raise NotFound("unknown_parcel", f"{courier} has no parcel {number}")
    return {"result": True, "returnCode": "200", "message": "成功"}


class _Push(BaseModel):
    model_config = ConfigDict(extra="ignore")

    status: str = ""  # polling | shutdown | abort | updateall
    message: str = ""
    autoCheck: str = ""  # "1": this push is under the code Kuaidi100 corrected (comNew)
    comOld: str = ""
    comNew: str = ""
    lastResult: dict[str, Any]  # Kuaidi100's names


def _push_body(param: str) -> _Push:
    push = parse_body(_Push, param.encode())
    if not isinstance(push.lastResult.get("nu"), str) or not push.lastResult["nu"]:
        field = {"field": "param.lastResult.nu", "message": "the tracking number is missing"}
        raise Unprocessable("missing_tracking_number", field["message"], fields=[field])
    return push


@router.get("/orders/{order_id}/shipment", responses=errors(401, 403, 404))
async def order_shipment(order_id: PathId, request: Request) -> dict[str, Any]:
    """The order's shipment: courier, tracking number, the label a real carrier printed
    (a link, else null), its status (`returning` and `returned` for a parcel going back
    to the shop, refused or undeliverable, and back there) and every checkpoint by time.
    An order that ships as several parcels has one such shipment per parcel in `parcels`
    (by number, each with its goods: `lines`, null for an order that ships whole); the
    top level is the first of them."""
    order_access(request, order_id)
    async with service_of(request, Deps).unit(correlation_id=_correlation(request)) as unit:
        found = await shipping.tracked(unit, order_id)
        labels = [await tracking.label(unit, s.shipment_id) for s, _ in found]
    if not found:
        raise NotFound("no_shipment", f"order {order_id} has no shipment")
    parcels = [
        _parcel(shipment, checkpoints, label)
        for (shipment, checkpoints), label in zip(found, labels, strict=True)
    ]
    return {"order_id": order_id, **parcels[0], "parcels": parcels}


def _parcel(
    shipment: Shipment, checkpoints: list[dict[str, Any]], label: str | None
) -> dict[str, Any]:
    return {
        "shipment_id": shipment.shipment_id,
        "parcel": {"number": shipment.parcel_number, "of": shipment.parcel_count},
        "warehouse": shipment.warehouse,
        "status": shipment.status.value,
        "courier": shipment.courier,
        "tracking_number": shipment.tracking_number,
        "label_url": label,
        "promised_ship_date": shipment.promised_ship_date.isoformat(),
        "expected_date": shipment.expected_date.isoformat(),
        "shipped_at": _iso(shipment.shipped_at),
        "delivered_at": _iso(shipment.delivered_at),
        "returned_at": _iso(shipment.returned_at),
        "lines": [
            {"line_id": x["line_id"], "sku": x["sku"], "quantity": int(x["quantity"])}
            for x in shipment.lines or []
        ]
        or None,
        "checkpoints": [
            {**cp, "checkpoint_at": cp["checkpoint_at"].isoformat()} for cp in checkpoints
        ],
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _correlation(request: Request) -> str | None:
    return request.headers.get("X-Correlation-ID")
