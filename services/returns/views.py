"""HTTP routes of the returns service.

Customers (the order's access token, or the shop's key on their behalf) ask for
refunds and report return parcels; operations (the ops key) approve, reject and
record returns received. Every command runs in one unit: state, audit and events
commit together, and a refused command writes nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Body, Depends, Header, Request
from fastapi.responses import JSONResponse
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field

from services.returns import repository as repo
from services.returns import steps
from services.returns.deps import Deps
from services.returns.domain import transitions
from services.returns.domain.eligibility import Ask
from services.returns.domain.records import Audit, Reason, RefundRequest, Refused
from shared.contracts.events.returns import Actor
from shared.dead_letters import ACTOR_HEADER
from shared.http import (
    BIGINT_MAX,
    INT_MAX,
    ApiError,
    Conflict,
    CurrencyCode,
    NotFound,
    PathId,
    StorableText,
    Unauthorized,
    Unprocessable,
    bearer_token,
    order_access,
    require_role,
    service_of,
)
from shared.openapi import errors
from shared.unit import Unit

router = APIRouter(prefix="/v1", tags=["returns"])
_READS = errors(401, 403, 404)
OPERATOR_NAME = r"^[\w.@ -]{1,100}$"  # as the dead letters' actor header
_REFUSALS = errors(401, 403, 404, 409, s409="the request's state does not allow this")
_DECISIONS = errors(401, 403, 404, 409, 422, s409="the request was decided already")


class Body_(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LineAsk(Body_):
    line_id: StorableText = Field(min_length=1, max_length=200)
    quantity: int = Field(ge=1, le=INT_MAX)


class AmountIn(Body_):
    amount: int = Field(ge=1, le=BIGINT_MAX, description="minor units (fen, cents)")
    currency: CurrencyCode


class RefundRequestBody(Body_):
    reason: Reason
    lines: list[LineAsk] | None = Field(default=None, min_length=1, max_length=200)
    amount: AmountIn | None = None
    evidence_urls: list[AnyHttpUrl] = Field(default_factory=list, max_length=10)


class ReturnShipmentBody(Body_):
    courier: StorableText = Field(min_length=1, max_length=100)
    tracking_number: StorableText = Field(min_length=1, max_length=100)


class RejectBody(Body_):
    reason: StorableText = Field(
        min_length=1, max_length=500, pattern=r"\S", description="told to the customer"
    )


class ApproveBody(Body_):
    note: StorableText | None = Field(default=None, max_length=500)


async def order_actor(request: Request, order_id: str) -> Actor:
    """The customer (the order's token, or the shop on their behalf) or operations."""
    access = order_access(request, order_id)
    return "operations" if access == "ops" else "customer"


async def request_actor(request: Request, request_id: str) -> Actor:
    """Who acts on a request: the key or token must open the request's order."""
    if bearer_token(request) is None:
        raise Unauthorized("unauthorized", "an Authorization: Bearer token is required")
    async with service_of(request, Deps).db.acquire() as conn:
        found = await repo.get_request(conn, request_id)
    if found is None:
        raise NotFound("refund_request_not_found", f"no refund request {request_id}")
    return await order_actor(request, found.order_id)


async def operations(request: Request) -> Actor:
    require_role(request, "ops")
    return "operations"


Operator = Annotated[
    str | None,
    Header(alias=ACTOR_HEADER, pattern=OPERATOR_NAME, description="the person who decides"),
]
OrderActor = Annotated[Actor, Depends(order_actor)]
RequestActor = Annotated[Actor, Depends(request_actor)]
Operations = Annotated[Actor, Depends(operations)]


@asynccontextmanager
async def command(request: Request) -> AsyncIterator[Unit[Deps]]:
    """One unit for an HTTP command; the rules' refusals become HTTP errors."""
    service = service_of(request, Deps)
    try:
        async with service.unit(correlation_id=request.headers.get("X-Correlation-ID")) as unit:
            yield unit
    except Refused as refused:
        raise _api_error(refused) from refused
    except asyncpg.UniqueViolationError as exc:
        raise Conflict(
            "line_has_open_request",
            "a line already has an open refund request or exchange",
            state="open",
        ) from exc


@router.post(
    "/orders/{order_id}/refund-requests",
    status_code=201,
    responses={200: {"description": "a retry with the same Idempotency-Key"}, **_REFUSALS},
)
async def request_refund(
    order_id: PathId,
    body: RefundRequestBody,
    request: Request,
    actor: OrderActor,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> JSONResponse:
    lines = tuple((ln.line_id, ln.quantity) for ln in body.lines) if body.lines else None
    amount, currency = (body.amount.amount, body.amount.currency) if body.amount else (None, None)
    ask = Ask(body.reason, lines, amount, currency)
    async with command(request) as unit:
        found, created = await steps.request_refund(
            unit,
            order_id,
            ask,
            actor=actor,
            idempotency_key=idempotency_key,
            evidence_urls=[str(url) for url in body.evidence_urls],
        )
        return await _respond(unit.conn, found, status=201 if created else 200)


@router.get("/orders/{order_id}/refund-requests", responses=_READS)
async def list_refund_requests(order_id: PathId, request: Request, _: OrderActor) -> dict[str, Any]:
    async with service_of(request, Deps).db.acquire() as conn:
        found = await repo.list_requests(conn, order_id)
        trails = await repo.audit_trails(conn, [r.id for r in found])
    return {"order_id": order_id, "refund_requests": [_shown(r, trails[r.id]) for r in found]}


@router.get("/refund-requests/{request_id}", responses=_READS)
async def get_refund_request(
    request_id: PathId, request: Request, _: RequestActor
) -> dict[str, Any]:
    async with service_of(request, Deps).db.acquire() as conn:
        found = await repo.get_request(conn, request_id)
        assert found is not None
        return await _view(conn, found)


@router.post("/refund-requests/{request_id}/return-shipment", responses=_REFUSALS)
async def report_return_shipment(
    request_id: PathId, body: ReturnShipmentBody, request: Request, actor: RequestActor
) -> JSONResponse:
    report = partial(
        transitions.report_return,
        actor=actor,
        courier=body.courier,
        tracking_number=body.tracking_number,
    )
    return await _act(request, request_id, report)


@router.post("/refund-requests/{request_id}/approve", responses=_DECISIONS)
async def approve_refund(
    request_id: PathId,
    request: Request,
    actor: Operations,
    body: Annotated[ApproveBody | None, Body()] = None,
    by: Operator = None,
) -> JSONResponse:
    """Approves a request awaiting operations (`X-Ops-Actor` names who, in its audit
    trail); one already decided is a 409."""
    note = body.note if body else None
    approved = partial(transitions.approve, actor=actor, note=note, by=by)
    return await _act(request, request_id, approved)


@router.post("/refund-requests/{request_id}/reject", responses=_DECISIONS)
async def reject_refund(
    request_id: PathId,
    request: Request,
    actor: Operations,
    body: Annotated[RejectBody | None, Body()] = None,
    by: Operator = None,
) -> JSONResponse:
    """Refuses a request with the reason the customer is told: no reason is a 422 naming
    `reason`; a request already decided is a 409."""
    if body is None:
        message = "refusing a refund needs a reason for the customer"
        field = {"field": "reason", "message": message}
        raise Unprocessable("reason_required", message, field="reason", fields=[field])
    rejected = partial(transitions.reject, actor=actor, reason=body.reason, by=by)
    return await _act(request, request_id, rejected)


@router.post("/refund-requests/{request_id}/return-received", responses=_REFUSALS)
async def record_return_received(
    request_id: PathId, request: Request, actor: Operations
) -> JSONResponse:
    received = partial(transitions.receive_return, actor=actor)
    return await _act(request, request_id, received)


async def _act(request: Request, request_id: str, decide: steps.Move) -> JSONResponse:
    async with command(request) as unit:
        outcome = await steps.move(unit, request_id, decide)
        if outcome is None:
            raise NotFound("refund_request_not_found", f"no refund request {request_id}")
        return await _respond(unit.conn, outcome.request, status=200)


async def _respond(conn: asyncpg.Connection, found: RefundRequest, *, status: int) -> JSONResponse:
    return JSONResponse(status_code=status, content=await _view(conn, found))


async def _view(conn: asyncpg.Connection, r: RefundRequest) -> dict[str, Any]:
    return _shown(r, await repo.audit_trail(conn, r.id))


def _shown(r: RefundRequest, trail: list[Audit]) -> dict[str, Any]:
    return {
        "id": r.id,
        "order_id": r.order_id,
        "flow": r.flow,
        "reason": r.reason,
        "status": r.status,
        "amount": {"amount": r.amount, "currency": r.currency},
        "lines": [line.model_dump() for line in r.lines],
        "return_shipping_paid_by": r.return_shipping_paid_by,
        "evidence_urls": list(r.evidence_urls),
        "return_shipment": (
            {"courier": r.return_courier, "tracking_number": r.return_tracking_number}
            if r.return_tracking_number
            else None
        ),
        "rejection_reason": r.rejection_reason,
        "requested_by": r.requested_by,
        "rule_due_at": r.rule_due_at.isoformat() if r.rule_due_at else None,
        "created_at": r.created_at.isoformat(),
        "updated_at": r.updated_at.isoformat(),
        "steps": [
            {"actor": s.actor, "action": s.action, "at": s.at.isoformat(), "details": s.details}
            for s in trail
        ],
    }


def _api_error(refused: Refused) -> ApiError:
    details: dict[str, Any] = {}
    if refused.field:
        details["field"] = refused.field
        details["fields"] = [{"field": refused.field, "message": refused.message}]
    if refused.state:
        details["state"] = refused.state
    kinds: dict[str, type[ApiError]] = {
        "not_found": NotFound,
        "conflict": Conflict,
        "unprocessable": Unprocessable,
    }
    return kinds[refused.kind](refused.code, refused.message, **details)
