"""The money of an order beyond its goods: postage, a chosen courier's surcharge and a
coupon's discount. Pure.

total = goods - discount + shipping fee (postage plus the courier's surcharge). The
discount is shared across the lines by the largest-remainder method, so the shares add up
to the discount exactly, to the fen, and a refund of some lines (or some units of a line)
is exact.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

CouponKind = Literal["fixed", "percent"]


@dataclass(frozen=True)
class Postage:
    fee: int = 0  # minor units; 0: shipping is always free
    free_from: int | None = None  # goods (after the discount) at or above this ship free

    def fee_for(self, goods_after_discount: int) -> int:
        if self.free_from is not None and goods_after_discount >= self.free_from:
            return 0
        return self.fee


class CourierRefused(Exception):
    """The shop does not offer the courier asked for at checkout (a 422 on `courier`)."""

    def __init__(self, courier: str, offered: Mapping[str, int]) -> None:
        names = ", ".join(sorted(offered)) or "none: the shop chooses the courier"
        super().__init__(f"courier {courier!r} is not offered (offered: {names})")
        self.message = str(self)


def courier_fee(courier: str | None, offered: Mapping[str, int]) -> int:
    """The surcharge of the courier chosen at checkout (0 without a choice). It is charged
    even when the postage is free: free shipping waives the standard postage, not the
    premium a customer chose. Raises CourierRefused for a courier the shop does not offer."""
    if courier is None:
        return 0
    if courier not in offered:
        raise CourierRefused(courier, offered)
    return offered[courier]


@dataclass(frozen=True)
class Coupon:
    code: str
    kind: CouponKind
    value: int  # minor units for fixed; percent (1 to 100) for percent
    currency: str | None  # a fixed coupon's currency; None for percent
    min_spend: int
    valid_from: datetime | None
    valid_until: datetime | None
    usage_limit: int | None
    used: int = 0
    expired_at: datetime | None = None  # expired by operations before its end


class CouponRefused(Exception):
    """The coupon cannot be used for this order; `message` says why (a 422 on `coupon_code`)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def coupon_problem(coupon: Coupon | None, goods: int, currency: str, now: datetime) -> None:
    """Raises CouponRefused when `coupon` cannot discount goods worth `goods` now."""
    if coupon is None:
        raise CouponRefused("coupon_unknown", "no such coupon")
    if coupon.expired_at is not None and coupon.expired_at <= now:
        raise CouponRefused("coupon_expired", "the coupon has expired")
    if coupon.valid_until is not None and now >= coupon.valid_until:
        raise CouponRefused("coupon_expired", "the coupon has expired")
    if coupon.valid_from is not None and now < coupon.valid_from:
        raise CouponRefused("coupon_not_yet_valid", f"the coupon is valid from {coupon.valid_from}")
    if coupon.currency is not None and coupon.currency != currency:
        raise CouponRefused("coupon_currency", f"the coupon is for orders in {coupon.currency}")
    if goods < coupon.min_spend:
        message = f"the coupon needs a spend of at least {coupon.min_spend} (this order: {goods})"
        raise CouponRefused("coupon_below_minimum_spend", message)
    if coupon.usage_limit is not None and coupon.used >= coupon.usage_limit:
        raise CouponRefused("coupon_used_up", "the coupon has been used as often as it may be")


def discount_of(coupon: Coupon, goods: int) -> int:
    """The coupon's discount on goods worth `goods`: never more than the goods."""
    if coupon.kind == "percent":
        return goods * coupon.value // 100
    return min(coupon.value, goods)


def allocate(total: int, weights: list[int]) -> list[int]:
    """`total` shared in proportion to `weights` (largest remainder): the shares add up to
    `total` exactly; a tie in remainders goes to the earlier line."""
    whole = sum(weights)
    if whole == 0 or total == 0:
        return [0 for _ in weights]
    shares = [total * w // whole for w in weights]
    remainders = [total * w % whole for w in weights]
    left = total - sum(shares)
    for i in sorted(range(len(weights)), key=lambda i: (-remainders[i], i))[:left]:
        shares[i] += 1
    return shares


@dataclass(frozen=True)
class Priced:
    goods: int
    discount: int
    shipping_fee: int  # postage plus courier_fee
    line_discounts: list[int]
    courier_fee: int = 0  # the part of shipping_fee the chosen courier adds

    @property
    def total(self) -> int:
        return self.goods - self.discount + self.shipping_fee


def priced(
    line_values: list[int], coupon: Coupon | None, postage: Postage, courier_fee: int = 0
) -> Priced:
    """The order's money: goods, the coupon's discount shared over the lines, postage and
    the chosen courier's surcharge (never waived by free shipping)."""
    goods = sum(line_values)
    discount = discount_of(coupon, goods) if coupon else 0
    shares = allocate(discount, line_values)
    fee = postage.fee_for(goods - discount) + courier_fee
    return Priced(goods, discount, fee, shares, courier_fee)
