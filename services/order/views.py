"""HTTP routes of the order service: what the shop frontend and message links call.

The shop key may act for any customer (and, with `X-Customer-ID`, for one of
them only); an order's access token opens that order and nothing else.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response

from services.order import coupons, presenter, repository, steps
from services.order.deps import Deps
from services.order.domain import backorder, fees, placing
from services.order.domain import order as domain
from services.order.domain.order import Order
from services.order.handlers import HANDLERS
from services.order.schemas import (
    BackorderChoiceIn,
    CancelOrder,
    OrderOut,
    OrderPageOut,
    PlacedOrderOut,
    PlaceOrder,
)
from shared import cursors
from shared.contracts.events.common import Address, Contact, Locale
from shared.http import (
    Conflict,
    Forbidden,
    NotFound,
    Unprocessable,
    order_access,
    require_role,
    service_of,
)
from shared.i18n import Wanted
from shared.logging import get_logger
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


def language(
    lang: Annotated[
        Locale | None,
        Query(description="the language of the sentences; else Accept-Language, else the order's"),
    ] = None,
    accept_language: Annotated[str | None, Header()] = None,
) -> Wanted:
    return Wanted(None if lang is None else lang.value, accept_language)


Language = Annotated[Wanted, Depends(language)]


def shop_only(request: Request) -> None:
    require_role(request, "shop")


def _acting_for(order: Order, caller: str, customer: str | None) -> None:
    if caller == "shop" and customer is not None and order.customer_id != customer:
        raise Forbidden("forbidden", "this order belongs to another customer")


async def _view(unit: Unit[Deps], order: Order, wanted: Wanted) -> OrderOut:
    entries = await repository.timeline(unit.conn, order.order_id)
    return presenter.order_view(order, entries, wanted.for_order(order.locale.value))


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
    service = service_of(request, Deps)
    settings = service.deps.settings
    items = [placing.Item(i.sku, i.name, i.variant, i.quantity, i.unit_price) for i in body.items]
    problems = placing.limit_problems(items, body.gift_message, settings.limits)
    if problems:
        fields = [{"field": name, "message": message} for name, message in problems]
        names = ", ".join(sorted({name for name, _ in problems}))
        raise Unprocessable(
            "invalid_request", f"invalid: {names}", field=problems[0][0], fields=fields
        )
    request_hash = hashlib.sha256(body.model_dump_json().encode()).hexdigest()
    idempotency = (idempotency_key, request_hash) if idempotency_key is not None else None
    correlation_id = request.headers.get("X-Correlation-ID")
    async with service.unit(correlation_id=correlation_id) as unit:
        priced = await _priced(unit, body, items)
        order = placing.new_order(
            order_id=placing.new_order_id(),
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
            payment_window=timedelta(seconds=settings.payment_window_seconds),
            priced=priced,
            coupon_code=body.coupon_code,
            courier=body.courier,
        )
        try:
            placed = await steps.place(unit, order, idempotency, HANDLERS)
        except placing.KeyReused as reused:
            raise Conflict(
                "idempotency_key_reused",
                "this Idempotency-Key was used for a different order",
                order_id=reused.order_id,
            ) from None
        if not placed.replayed and order.coupon_code is not None:
            await coupons.redeem(
                unit.conn, order.coupon_code, order.order_id, order.discount, unit.now
            )
    view = presenter.order_view(placed.order, placed.timeline)
    order_id = placed.order.order_id
    if placed.replayed:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    else:
        log.info("order placed", order_id=order_id, payment_method=order.payment_method)
    response.headers["Location"] = f"/v1/orders/{order_id}"
    token, url = settings.order_link(order_id)
    return PlacedOrderOut(**view.model_dump(), access_token=token, order_url=url)


async def _priced(unit: Unit[Deps], body: PlaceOrder, items: list[placing.Item]) -> fees.Priced:
    """The order's money: its coupon (locked until the placement commits, so parallel
    placements never use it beyond its limit; 422 on `coupon_code` when it does not apply)
    and the shop's postage with the chosen courier's surcharge (422 on `courier` for one the
    shop does not offer)."""
    try:
        surcharge = fees.courier_fee(body.courier, unit.deps.settings.courier_options)
    except fees.CourierRefused as refused:
        raise Unprocessable(
            "courier_not_offered",
            f"invalid: courier ({refused.message})",
            field="courier",
            fields=[{"field": "courier", "message": refused.message}],
        ) from None
    values = [item.quantity * item.unit_price for item in items]
    coupon = None
    if body.coupon_code is not None:
        coupon = await coupons.load(unit.conn, body.coupon_code, lock=True)
        try:
            fees.coupon_problem(coupon, sum(values), body.currency, unit.now)
        except fees.CouponRefused as refused:
            raise Unprocessable(
                refused.code,
                f"invalid: coupon_code ({refused.message})",
                field="coupon_code",
                fields=[{"field": "coupon_code", "message": refused.message}],
            ) from None
    return fees.priced(values, coupon, unit.deps.settings.postage, surcharge)


@router.get("/orders/{order_id}", response_model=OrderOut, responses=ERRORS)
async def get_order(
    order_id: OrderId,
    request: Request,
    wanted: Language,
    access_token: Annotated[str | None, Query(max_length=200)] = None,
    customer: CustomerHeader = None,
) -> OrderOut:
    caller = order_access(request, order_id, access_token)
    found = await repository.snapshot(service_of(request, Deps).db, order_id)
    if found is None:
        raise NotFound("order_not_found", "no such order", order_id=order_id)
    order, entries = found
    _acting_for(order, caller, customer)
    return presenter.order_view(order, entries, wanted.for_order(order.locale.value))


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
    before = cursors.after(cursor) if cursor is not None else None
    async with service_of(request, Deps).db.acquire() as conn:
        orders = await repository.customer_orders(conn, customer_id, limit=limit + 1, before=before)
    page = orders[:limit]
    next_cursor = (
        cursors.cursor(page[-1].placed_at, page[-1].order_id) if len(orders) > limit else None
    )
    return OrderPageOut(orders=[presenter.summary(o) for o in page], next_cursor=next_cursor)


Action = Callable[[Order, datetime], domain.Outcome]


async def _command(
    request: Request,
    order_id: str,
    customer: str | None,
    wanted: Wanted,
    act: Action,
    response: Response | None = None,
) -> OrderOut:
    """Runs a customer action on the order in one unit; 409 when its state does not allow it.
    With `response`, an action that changed nothing (a repeat) answers 200 instead of the
    route's status."""
    caller = order_access(request, order_id)
    correlation_id = request.headers.get("X-Correlation-ID")
    async with service_of(request, Deps).unit(correlation_id=correlation_id) as unit:

        def allowed(order: Order) -> domain.Outcome:
            _acting_for(order, caller, customer)
            outcome = act(order, unit.now)
            if response is not None and not outcome.events:
                response.status_code = 200
            return outcome

        try:
            order = await steps.change(unit, order_id, allowed)
        except domain.NotAllowed as refused:
            raise Conflict(refused.code, refused.message, current_state=refused.status) from None
        if order is None:
            raise NotFound("order_not_found", "no such order", order_id=order_id)
        return await _view(unit, order, wanted)


@router.post("/orders/{order_id}/cancel", response_model=OrderOut, responses=ERRORS)
async def cancel_order(
    order_id: OrderId,
    request: Request,
    wanted: Language,
    body: CancelOrder | None = None,
    customer: CustomerHeader = None,
) -> OrderOut:
    reason = body.reason if body else "customer_request"
    return await _command(
        request, order_id, customer, wanted, lambda o, now: domain.cancel(o, reason, now)
    )


@router.post("/orders/{order_id}/confirm-receipt", response_model=OrderOut, responses=ERRORS)
async def confirm_receipt(
    order_id: OrderId, request: Request, wanted: Language, customer: CustomerHeader = None
) -> OrderOut:
    review_url = service_of(request, Deps).deps.settings.review_url(order_id)
    return await _command(
        request,
        order_id,
        customer,
        wanted,
        lambda o, now: domain.confirm_receipt(o, now, review_url),
    )


@router.post(
    "/orders/{order_id}/backorder-choice",
    status_code=202,
    response_model=OrderOut,
    responses={200: {"description": "the same answer again: nothing changes"}, **ERRORS},
)
async def choose_backorder(
    order_id: OrderId,
    body: BackorderChoiceIn,
    request: Request,
    response: Response,
    wanted: Language,
    customer: CustomerHeader = None,
) -> OrderOut:
    """The customer's answer to a backorder: ship what is in stock now, or wait for the
    restock. 202 the first time (told to logistics), 200 for the same answer again; 409
    `no_backorder`, `backorder_answered` (another answer came first) or `backorder_closed`
    (dropped, filled, or the order ended)."""
    choice = body.choice
    return await _command(
        request,
        order_id,
        customer,
        wanted,
        lambda o, now: backorder.choose(o, choice, now),
        response,
    )
