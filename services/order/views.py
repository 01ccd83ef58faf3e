"""HTTP routes of the order service: what the shop frontend and message links call.

The shop key may act for any customer (and, with `X-Customer-ID`, for one of
them only); an order's access token opens that order and nothing else.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response

from services.order import domain, placement, presenter, repository
from services.order.domain import Order
from services.order.schemas import CancelOrder, OrderOut, OrderPageOut, PlacedOrderOut, PlaceOrder
from services.order.settings import OrderSettings
from shared.contracts.envelope import Money
from shared.contracts.events.common import Address, Contact
from shared.contracts.events.order import OrderPlaced
from shared.http import (
    Conflict,
    Forbidden,
    NotFound,
    Unprocessable,
    order_access,
    require_key,
)
from shared.logging import get_logger
from shared.runtime import Runtime
from shared.tokens import order_token
from shared.unit import Unit

router = APIRouter(prefix="/v1", tags=["order"])
log = get_logger(__name__)

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "no credentials"},
    403: {"description": "credentials that do not open this"},
    404: {"description": "unknown order"},
    409: {"description": "the order's state does not allow it (`current_state` says why)"},
    422: {"description": "invalid input (`fields` names each field)"},
}
OrderId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
CustomerId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")]
CustomerHeader = Annotated[str | None, Header(alias="X-Customer-ID", max_length=64)]


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _settings(request: Request) -> OrderSettings:
    settings = _runtime(request).settings
    assert isinstance(settings, OrderSettings)
    return settings


def shop_only(request: Request) -> None:
    require_key(request, _settings(request).shop_api_key)


def _order_access(request: Request, order_id: str, access_token: str | None) -> str:
    """ "shop", "ops" or "token"; a message link carries the token as `?access_token=`."""
    return order_access(request, order_id, access_token)


def _acting_for(order: Order, caller: str, customer: str | None) -> None:
    if caller == "shop" and customer is not None and order.customer_id != customer:
        raise Forbidden("forbidden", "this order belongs to another customer")


async def _view(unit: Unit, order: Order) -> OrderOut:
    return presenter.order_view(order, await repository.timeline(unit.conn, order.order_id))


def _link(request: Request, order_id: str) -> tuple[str, str]:
    """The order's access token and the link customer messages carry."""
    s = _settings(request)
    token = order_token(s.order_token_secret.get_secret_value(), order_id)
    return token, f"{s.base_url}/v1/orders/{order_id}?access_token={token}"


def _placed_view(request: Request, view: OrderOut) -> PlacedOrderOut:
    token, url = _link(request, view.order_id)
    return PlacedOrderOut(**view.model_dump(), access_token=token, order_url=url)


def _items(body: PlaceOrder) -> list[placement.Item]:
    return [placement.Item(i.sku, i.name, i.variant, i.quantity, i.unit_price) for i in body.items]


@router.post(
    "/orders",
    status_code=201,
    response_model=PlacedOrderOut,
    dependencies=[Depends(shop_only)],
    responses={200: {"description": "a retry with the same Idempotency-Key"}, **ERRORS},
)
async def place_order(
    body: PlaceOrder,
    request: Request,
    response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> PlacedOrderOut:
    s = _settings(request)
    items = _items(body)
    problems = placement.limit_problems(items, body.gift_message, s.limits)
    if problems:
        fields = [{"field": name, "message": message} for name, message in problems]
        names = ", ".join(sorted({name for name, _ in problems}))
        raise Unprocessable(
            "invalid_request", f"invalid: {names}", field=problems[0][0], fields=fields
        )
    order_id = placement.new_order_id()
    request_hash = hashlib.sha256(body.model_dump_json().encode()).hexdigest()
    correlation_id = request.headers.get("X-Correlation-ID")
    async with _runtime(request).unit(correlation_id=correlation_id) as unit:
        if idempotency_key is not None:
            prior = await repository.claim_idempotency_key(
                unit.conn, idempotency_key, request_hash, order_id
            )
            if prior is not None:
                return await _replay(request, unit, response, prior, request_hash)
        order = placement.new_order(
            order_id=order_id,
            customer_id=body.customer_id,
            items=items,
            currency=body.currency,
            contact=Contact(**body.contact.model_dump()),
            address=Address(**body.address.model_dump()),
            locale=body.locale,
            time_zone=body.time_zone,
            method=body.payment_method,
            gift_message=body.gift_message,
            now=unit.now,
            payment_window=timedelta(seconds=s.payment_window_seconds),
        )
        await repository.insert(unit.conn, order)
        await repository.record(unit, order, domain.placed(order))
        _, order_url = _link(request, order.order_id)
        await unit.emit(_order_placed(order, order_url), order_id=order.order_id)
        view = _placed_view(request, await _view(unit, order))
    log.info("order placed", order_id=order.order_id, payment_method=order.payment_method)
    response.headers["Location"] = f"/v1/orders/{order.order_id}"
    return view


async def _replay(
    request: Request, unit: Unit, response: Response, prior: tuple[str, str], request_hash: str
) -> PlacedOrderOut:
    order_id, prior_hash = prior
    if prior_hash != request_hash:
        raise Conflict(
            "idempotency_key_reused",
            "this Idempotency-Key was used for a different order",
            order_id=order_id,
        )
    order = await repository.load(unit.conn, order_id)
    assert order is not None, "an idempotency key always comes with its order"
    response.status_code = 200
    response.headers["Location"] = f"/v1/orders/{order_id}"
    response.headers["Idempotent-Replayed"] = "true"
    return _placed_view(request, await _view(unit, order))


def _order_placed(order: Order, order_url: str) -> OrderPlaced:
    return OrderPlaced(
        customer_id=order.customer_id,
        lines=order.lines,
        total=Money(amount=order.total, currency=order.currency),
        contact=order.contact,
        address=order.address,
        locale=order.locale,
        time_zone=order.time_zone,
        payment_method=order.payment_method,
        payment_due_at=order.payment_due_at,
        gift_message=order.gift_message,
        order_url=order_url,
    )


@router.get("/orders/{order_id}", response_model=OrderOut, responses=ERRORS)
async def get_order(
    order_id: OrderId,
    request: Request,
    access_token: Annotated[str | None, Query(max_length=200)] = None,
    customer: CustomerHeader = None,
) -> OrderOut:
    caller = _order_access(request, order_id, access_token)
    # One snapshot for the order and its timeline: never a step without its effect.
    db = _runtime(request).db
    async with db.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        order = await repository.load(conn, order_id)
        if order is None:
            raise NotFound("order_not_found", "no such order", order_id=order_id)
        _acting_for(order, caller, customer)
        entries = await repository.timeline(conn, order_id)
    return presenter.order_view(order, entries)


@router.get(
    "/customers/{customer_id}/orders",
    response_model=OrderPageOut,
    dependencies=[Depends(shop_only)],
    responses=ERRORS,
)
async def customer_orders(
    customer_id: CustomerId,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[
        str | None,
        Query(pattern=r"^[A-Za-z0-9_-]{1,200}$", description="`next_cursor` of the page before"),
    ] = None,
    customer: CustomerHeader = None,
) -> OrderPageOut:
    if customer is not None and customer != customer_id:
        raise Forbidden("forbidden", "these are another customer's orders")
    before = presenter.parse_cursor(cursor) if cursor is not None else None
    if cursor is not None and before is None:
        raise Unprocessable("invalid_request", "invalid: cursor", field="cursor")
    async with _runtime(request).db.acquire() as conn:
        orders = await repository.customer_orders(conn, customer_id, limit=limit + 1, before=before)
    page = orders[:limit]
    next_cursor = presenter.cursor_of(page[-1]) if len(orders) > limit else None
    return OrderPageOut(orders=[presenter.summary(o) for o in page], next_cursor=next_cursor)


async def _command(request: Request, order_id: str, customer: str | None, action: Any) -> OrderOut:
    """Runs a customer action on the order in one unit; 409 when its state does not allow it."""
    caller = _order_access(request, order_id, None)
    correlation_id = request.headers.get("X-Correlation-ID")
    async with _runtime(request).unit(correlation_id=correlation_id) as unit:
        order = await repository.load(unit.conn, order_id, lock=True)
        if order is None:
            raise NotFound("order_not_found", "no such order", order_id=order_id)
        _acting_for(order, caller, customer)
        try:
            outcome = action(order, unit.now)
        except domain.NotAllowed as refused:
            raise Conflict(refused.code, refused.message, current_state=refused.status) from None
        await repository.record(unit, order, outcome)
        return await _view(unit, order)


@router.post("/orders/{order_id}/cancel", response_model=OrderOut, responses=ERRORS)
async def cancel_order(
    order_id: OrderId,
    request: Request,
    body: CancelOrder | None = None,
    customer: CustomerHeader = None,
) -> OrderOut:
    reason = body.reason if body else "customer_request"
    return await _command(
        request, order_id, customer, lambda order, now: domain.cancel(order, reason, now)
    )


@router.post("/orders/{order_id}/confirm-receipt", response_model=OrderOut, responses=ERRORS)
async def confirm_receipt(
    order_id: OrderId, request: Request, customer: CustomerHeader = None
) -> OrderOut:
    review_url = _settings(request).review_url(order_id)
    return await _command(
        request,
        order_id,
        customer,
        lambda order, now: domain.confirm_receipt(order, now, review_url),
    )
