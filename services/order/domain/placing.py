"""Placing an order: the shop's limits, contact rules and the new order itself. Pure."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import available_timezones

from services.order.domain.fees import Priced
from services.order.domain.order import PAYMENT_WINDOW, Entry, Order, Outcome, Stage
from shared.contracts.envelope import Money
from shared.contracts.events.common import Address, Contact, Locale, OrderLine, PaymentMethod
from shared.contracts.events.order import OrderPlaced

DEFAULT_TIME_ZONES = {Locale.ZH_CN: "Asia/Shanghai", Locale.ZH_TW: "Asia/Taipei", Locale.EN: "UTC"}

_PHONE_SEPARATORS = re.compile(r"[\s\-]")
_PHONE = re.compile(r"^\+\d{6,15}$")
_EMAIL_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_DOMAIN_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


@dataclass(frozen=True)
class Limits:
    max_lines: int = 50
    max_quantity: int = 99
    max_unit_price: int = 10_000_000
    max_order_total: int = 100_000_000
    max_gift_message: int = 200


@dataclass(frozen=True)
class Item:
    sku: str
    name: str
    variant: str | None
    quantity: int
    unit_price: int


Problem = tuple[str, str]  # (field, message)


class KeyReused(Exception):
    """An Idempotency-Key already placed another order (a request with other content)."""

    def __init__(self, order_id: str) -> None:
        super().__init__(f"the key placed {order_id}")
        self.order_id = order_id


def new_order_id() -> str:
    return f"ord_{uuid.uuid4().hex[:24]}"


def normalise_phone(raw: str) -> str | None:
    """`+` and 6 to 15 digits; spaces and dashes are allowed and dropped. None if malformed."""
    phone = _PHONE_SEPARATORS.sub("", raw)
    return phone if _PHONE.match(phone) else None


def valid_email(email: str) -> bool:
    if len(email) > 254 or email.count("@") != 1:
        return False
    local, domain = email.split("@")
    labels = domain.split(".")
    return (
        0 < len(local) <= 64
        and bool(_EMAIL_LOCAL.match(local))
        and len(labels) >= 2
        and all(_DOMAIN_LABEL.match(label) for label in labels)
        and labels[-1].isalpha()
        and len(labels[-1]) >= 2
    )


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def valid_time_zone(name: str) -> bool:
    return name in _zones()


def limit_problems(items: list[Item], gift_message: str | None, limits: Limits) -> list[Problem]:
    problems: list[Problem] = []
    if not items:
        problems.append(("items", "an order needs at least one item"))
    if len(items) > limits.max_lines:
        problems.append(("items", f"at most {limits.max_lines} lines per order"))
    for i, item in enumerate(items):
        if not 1 <= item.quantity <= limits.max_quantity:
            problems.append((f"items[{i}].quantity", f"must be 1 to {limits.max_quantity}"))
        if not 1 <= item.unit_price <= limits.max_unit_price:
            problems.append((f"items[{i}].unit_price", f"must be 1 to {limits.max_unit_price}"))
    if not problems and total_of(items) > limits.max_order_total:
        problems.append(("items", f"the order total may not exceed {limits.max_order_total}"))
    if gift_message is not None and len(gift_message) > limits.max_gift_message:
        problems.append(("gift_message", f"at most {limits.max_gift_message} characters"))
    return problems


def total_of(items: list[Item]) -> int:
    return sum(item.quantity * item.unit_price for item in items)


def new_order(
    *,
    order_id: str,
    customer_id: str | None,
    items: list[Item],
    currency: str,
    contact: Contact,
    address: Address,
    locale: Locale,
    time_zone: str | None,
    method: PaymentMethod,
    gift_message: str | None,
    now: datetime,
    payment_window: timedelta,
    priced: Priced | None = None,
    coupon_code: str | None = None,
    courier: str | None = None,
) -> Order:
    shares = priced.line_discounts if priced else [0] * len(items)
    lines = tuple(
        OrderLine(
            line_id=f"l{i + 1}",
            sku=item.sku,
            name=item.name,
            variant=item.variant,
            quantity=item.quantity,
            unit_price=Money(amount=item.unit_price, currency=currency),
            discount=Money(amount=share, currency=currency) if share else None,
        )
        for i, (item, share) in enumerate(zip(items, shares, strict=True))
    )
    cod = method is PaymentMethod.CASH_ON_DELIVERY
    return Order(
        order_id=order_id,
        customer_id=customer_id,
        stage=Stage.PLACED,
        currency=currency,
        total=priced.total if priced else total_of(items),
        payment_method=method,
        locale=locale,
        time_zone=time_zone or DEFAULT_TIME_ZONES[locale],
        lines=lines,
        contact=contact,
        address=address,
        placed_at=now,
        payment_due_at=None if cod else now + payment_window,
        gift_message=gift_message,
        shipping_fee=priced.shipping_fee if priced else 0,
        discount=priced.discount if priced else 0,
        coupon_code=coupon_code if priced and priced.discount else None,
        courier=courier,
        courier_fee=priced.courier_fee if priced else 0,
    )


def placed(order: Order, order_url: str) -> Outcome:
    """The outcome of placing `order`: its first timeline entry, its payment window (none
    for cash on delivery) and OrderPlaced with the link customer messages carry."""
    due = order.payment_due_at
    details: dict[str, Any] = {"payment_due_at": due.isoformat() if due else None}
    details["method"] = order.payment_method
    if order.shipping_fee or order.discount:
        details |= {"shipping_fee": order.shipping_fee, "discount": order.discount}
        details["coupon_code"] = order.coupon_code
    if order.courier is not None:
        details |= {"courier": order.courier, "courier_fee": order.courier_fee}
    outcome = Outcome(
        events=[_order_placed(order, order_url)],
        entries=[Entry("placed", order.placed_at, "placed", details)],
    )
    if due is not None:
        outcome.timers[PAYMENT_WINDOW] = due
    return outcome


# OrderPlaced tells these facts of the order under the same names (and its total as Money).
_PLACED_FIELDS = (
    "customer_id",
    "lines",
    "contact",
    "address",
    "locale",
    "time_zone",
    "payment_method",
    "payment_due_at",
    "gift_message",
)


def _order_placed(order: Order, order_url: str) -> OrderPlaced:
    facts = {name: getattr(order, name) for name in _PLACED_FIELDS}
    return OrderPlaced(
        **facts,
        total=order.money(order.total),
        order_url=order_url,
        shipping_fee=order.money(order.shipping_fee),
        discount=order.money(order.discount),
        coupon_code=order.coupon_code,
        courier=order.courier,
        courier_fee=order.money(order.courier_fee) if order.courier else None,
    )
