"""The order service's coupon routes for operations (`fulfil coupons` calls them): issue,
list and expire the coupon codes customers give at checkout."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field, model_validator

from services.order import coupons
from services.order.deps import Deps
from services.order.domain.fees import Coupon
from services.order.schemas import Body, CouponCode
from shared.http import (
    BIGINT_MAX,
    INT_MAX,
    Conflict,
    CurrencyCode,
    NotFound,
    require_role,
    service_of,
)
from shared.openapi import errors

router = APIRouter(prefix="/ops/coupons", tags=["operations"])
CodePath = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")]


class NewCoupon(Body):
    code: CouponCode
    kind: Literal["fixed", "percent"]
    value: int = Field(ge=1, le=BIGINT_MAX, description="minor units (fixed) or percent")
    currency: CurrencyCode | None = Field(default=None, description="required for fixed")
    min_spend: int = Field(default=0, ge=0, le=BIGINT_MAX, description="goods, minor units")
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    usage_limit: int | None = Field(default=None, ge=1, le=INT_MAX)

    @model_validator(mode="after")
    def _consistent(self) -> NewCoupon:
        if self.kind == "percent" and self.value > 100:
            raise ValueError("value: a percentage is 1 to 100")
        if self.kind == "fixed" and self.currency is None:
            raise ValueError("currency: a fixed amount needs its currency")
        for moment in (self.valid_from, self.valid_until):
            if moment is not None and moment.tzinfo is None:
                raise ValueError("valid_from/valid_until: give a time zone (e.g. Z)")
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            raise ValueError("valid_until: must be after valid_from")
        return self


class CouponOut(BaseModel):
    code: str
    kind: str
    value: int
    currency: str | None
    min_spend: int
    valid_from: datetime | None
    valid_until: datetime | None
    usage_limit: int | None
    used: int
    expired_at: datetime | None


def _out(coupon: Coupon) -> CouponOut:
    return CouponOut(**coupon.__dict__)


@router.post("", status_code=201, responses=errors(401, 403, 409, 422))
async def create_coupon(body: NewCoupon, request: Request) -> CouponOut:
    require_role(request, "ops")
    runtime = service_of(request, Deps)
    coupon = Coupon(**body.model_dump(), used=0)
    async with runtime.db.acquire() as conn:
        if not await coupons.create(conn, coupon, datetime.now(UTC)):
            raise Conflict(
                "coupon_exists", "a coupon with this code exists", coupon_code=coupon.code
            )
        created = await coupons.load(conn, coupon.code)
    assert created is not None
    return _out(created)


@router.get("", responses=errors(401, 403, 422))
async def list_coupons(
    request: Request, limit: Annotated[int, Query(ge=1, le=1000)] = 200
) -> list[CouponOut]:
    require_role(request, "ops")
    async with service_of(request, Deps).db.acquire() as conn:
        return [_out(c) for c in await coupons.listed(conn, limit)]


@router.post("/{code}/expire", responses=errors(401, 403, 404, 422))
async def expire_coupon(code: CodePath, request: Request) -> CouponOut:
    """Ends the coupon now: orders placed from now on are refused it (422 on coupon_code)."""
    require_role(request, "ops")
    async with service_of(request, Deps).db.acquire() as conn:
        coupon = await coupons.expire(conn, code.upper(), datetime.now(UTC))
    if coupon is None:
        raise NotFound("coupon_not_found", "no such coupon", coupon_code=code)
    return _out(coupon)
