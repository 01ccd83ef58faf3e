"""HTTP routes of exchanges: units of a delivered line swapped for another variant.

Customers (the order's access token, or the shop's key on their behalf) ask for an
exchange and report the return parcel, as for refund requests; operations (the ops key)
record the units received. Every command runs in one unit (services.returns.views.command):
state, audit and events commit together, and a refused command writes nothing.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse
from pydantic import Field

from services.returns import exchange_repository as xrepo
from services.returns import exchange_steps
from services.returns.deps import Deps
from services.returns.domain import exchange_transitions as moves
from services.returns.domain.exchanges import Exchange, ExchangeAsk
from services.returns.domain.records import Audit, Reason
from services.returns.views import (
    Body_,
    Operations,
    Operator,
    OrderActor,
    ReturnShipmentBody,
    command,
    order_actor,
)
from shared.contracts.events.returns import Actor
from shared.http import (
    INT_MAX,
    NotFound,
    PathId,
    StorableText,
    Unauthorized,
    bearer_token,
    service_of,
)
from shared.openapi import errors

router = APIRouter(prefix="/v1", tags=["returns"])
_READS = errors(401, 403, 404)
_ASKS = errors(401, 403, 404, 409, 422, s409="the order or its line does not allow this now")
_MOVES = errors(401, 403, 404, 409, s409="the exchange's state does not allow this")


class ExchangeBody(Body_):
    line_id: StorableText = Field(min_length=1, max_length=200)
    quantity: int = Field(ge=1, le=INT_MAX)
    replacement_sku: StorableText = Field(min_length=1, max_length=200)
    reason: Reason


async def exchange_actor(request: Request, exchange_id: str) -> Actor:
    """Who acts on an exchange: the key or token must open the exchange's order."""
    if bearer_token(request) is None:
        raise Unauthorized("unauthorized", "an Authorization: Bearer token is required")
    async with service_of(request, Deps).db.acquire() as conn:
        found = await xrepo.get_exchange(conn, exchange_id)
    if found is None:
        raise NotFound("exchange_not_found", f"no exchange {exchange_id}")
    return await order_actor(request, found.order_id)


ExchangeActor = Annotated[Actor, Depends(exchange_actor)]


@router.post(
    "/orders/{order_id}/exchanges",
    status_code=201,
    responses={200: {"description": "a retry with the same Idempotency-Key"}, **_ASKS},
)
async def request_exchange(
    order_id: PathId,
    body: ExchangeBody,
    request: Request,
    actor: OrderActor,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> JSONResponse:
    """Asks to exchange `quantity` units of a delivered line for `replacement_sku`, another
    variant of the same product; logistics then reserves it (`accepted`) or cannot
    (`refused`)."""
    ask = ExchangeAsk(body.line_id, body.quantity, body.replacement_sku, body.reason)
    async with command(request) as unit:
        found, created = await exchange_steps.request_exchange(
            unit, order_id, ask, actor=actor, idempotency_key=idempotency_key
        )
        return await _respond(unit.conn, found, status=201 if created else 200)


@router.get("/orders/{order_id}/exchanges", responses=_READS)
async def list_exchanges(order_id: PathId, request: Request, _: OrderActor) -> dict[str, Any]:
    async with service_of(request, Deps).db.acquire() as conn:
        found = await xrepo.list_exchanges(conn, order_id)
        trails = await xrepo.trails(conn, [x.id for x in found])
    return {"order_id": order_id, "exchanges": [shown(x, trails[x.id]) for x in found]}


@router.get("/exchanges/{exchange_id}", responses=_READS)
async def get_exchange(exchange_id: PathId, request: Request, _: ExchangeActor) -> dict[str, Any]:
    async with service_of(request, Deps).db.acquire() as conn:
        found = await xrepo.get_exchange(conn, exchange_id)
        assert found is not None
        return await _view(conn, found)


@router.post("/exchanges/{exchange_id}/return-shipment", responses=_MOVES)
async def report_return_shipment(
    exchange_id: PathId, body: ReturnShipmentBody, request: Request, actor: ExchangeActor
) -> JSONResponse:
    """The customer sent the units back: `ExchangeReturnShipped`; the same report again
    changes nothing."""
    report = partial(
        moves.report_return,
        actor=actor,
        courier=body.courier,
        tracking_number=body.tracking_number,
    )
    return await _act(request, exchange_id, report)


@router.post("/exchanges/{exchange_id}/return-received", responses=_MOVES)
async def record_return_received(
    exchange_id: PathId, request: Request, actor: Operations, by: Operator = None
) -> JSONResponse:
    """Operations have the units back (`X-Ops-Actor` names who, in its audit trail):
    `ExchangeReturnReceived`, then the replacement's release when nothing else waits, and
    a cheaper replacement's difference refunded."""
    received = partial(moves.receive_return, actor=actor, by=by)
    return await _act(request, exchange_id, received)


async def _act(
    request: Request, exchange_id: str, decide: exchange_steps.ExchangeMove
) -> JSONResponse:
    async with command(request) as unit:
        outcome = await exchange_steps.move(unit, exchange_id, decide)
        if outcome is None:
            raise NotFound("exchange_not_found", f"no exchange {exchange_id}")
        found = await xrepo.get_exchange(unit.conn, exchange_id)
        assert found is not None
        return await _respond(unit.conn, found, status=200)


async def _respond(conn: asyncpg.Connection, found: Exchange, *, status: int) -> JSONResponse:
    return JSONResponse(status_code=status, content=await _view(conn, found))


async def _view(conn: asyncpg.Connection, x: Exchange) -> dict[str, Any]:
    return shown(x, (await xrepo.trails(conn, [x.id]))[x.id])


def _at(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def shown(x: Exchange, trail: list[Audit]) -> dict[str, Any]:
    """An exchange as its routes show it."""
    money = None
    if x.difference is not None:
        money = {"amount": abs(x.difference), "currency": x.currency}
    return {
        "id": x.id,
        "order_id": x.order_id,
        "status": x.status,
        "reason": x.reason,
        "line": x.line.model_dump(),
        "replacement_sku": x.replacement_sku,
        "replacement": x.replacement.model_dump(mode="json") if x.replacement else None,
        "warehouse": x.warehouse,
        "returned_value": {"amount": x.returned_value, "currency": x.currency},
        "difference": money,
        "settlement": x.settlement,
        "ships": x.ships,
        "return_shipping_paid_by": x.return_shipping_paid_by,
        "pay_by": _at(x.pay_by),
        "paid_at": _at(x.paid_at),
        "return_shipment": (
            {"courier": x.return_courier, "tracking_number": x.return_tracking_number}
            if x.return_tracking_number
            else None
        ),
        "return_shipped_at": _at(x.return_shipped_at),
        "return_received_at": _at(x.return_received_at),
        "released_at": _at(x.released_at),
        "shipment": x.shipment,
        "delivered_at": _at(x.delivered_at),
        "outcome_reason": x.outcome_reason,
        "outcome_message": x.outcome_message,
        "refund_request_id": x.refund_request_id,
        "requested_by": x.requested_by,
        "created_at": x.created_at.isoformat(),
        "updated_at": x.updated_at.isoformat(),
        "steps": [
            {"actor": s.actor, "action": s.action, "at": s.at.isoformat(), "details": s.details}
            for s in trail
        ],
    }
