"""Events published by the order service: its decisions on `orders.v1`, and on
`operations.v1` what operations should look at (`OrderStuck`); both keyed by order id."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from shared.contracts.envelope import Event, Money
from shared.contracts.events.common import (
    Address,
    BackorderChoice,
    Contact,
    Locale,
    OrderLine,
    PaymentMethod,
)


class OrderPlaced(Event):
    TYPE = "OrderPlaced"
    MINOR = 2  # 1: shipping_fee, discount, coupon_code and each line's discount; 2: courier

    customer_id: str | None
    lines: tuple[OrderLine, ...]
    total: Money
    contact: Contact
    address: Address
    locale: Locale
    time_zone: str
    payment_method: PaymentMethod
    payment_due_at: datetime | None
    gift_message: str | None = None
    order_url: str
    # the money's parts; absent on orders placed before fees existed (no fee, no discount).
    # total = goods - discount + shipping_fee
    shipping_fee: Money | None = None
    discount: Money | None = None
    coupon_code: str | None = None
    # the courier the customer chose at checkout (None: the shop chooses) and the part of
    # shipping_fee its surcharge added; absent on orders placed before the choice existed.
    courier: str | None = None
    courier_fee: Money | None = None


class OrderPaid(Event):
    TYPE = "OrderPaid"

    amount: Money
    payment_method: PaymentMethod
    paid_at: datetime


class OrderCancellationRequested(Event):
    """A paid order the customer cancelled before shipping: a refund must follow."""

    TYPE = "OrderCancellationRequested"

    reason: str
    paid: Money


class OrderCancelled(Event):
    TYPE = "OrderCancelled"

    reason: Literal[
        "customer_request", "stock_shortage", "payment_failed", "refunded_before_shipping"
    ]
    was_paid: bool


class OrderClosed(Event):
    """The payment window ran out on an unpaid order."""

    TYPE = "OrderClosed"

    reason: Literal["payment_window_expired"] = "payment_window_expired"


class OrderCompleted(Event):
    TYPE = "OrderCompleted"

    confirmed_by: Literal["customer", "auto"]
    review_url: str | None = None


class OrderRefused(Event):
    """The parcel was refused at the door, or could not be delivered, and goes back to the
    shop: the order ends. A cash-on-delivery order owes nothing (`was_paid` false)."""

    TYPE = "OrderRefused"

    reason: Literal["refused", "undeliverable"]
    was_paid: bool


class BackorderChoiceMade(Event):
    """The customer's answer to StockBackordered, given on the order page. Logistics applies
    it while the order is still short; after the deadline's default, or once a restock
    filled the order, it changes nothing."""

    TYPE = "BackorderChoiceMade"

    choice: BackorderChoice
    chosen_at: datetime


StuckStage = Literal[
    "awaiting_payment_request", "not_shipped", "silent_in_transit", "refund_unanswered"
]


class OrderStuck(Event):
    """The order stayed in `stage` longer than the stage allows (`threshold_seconds` after
    `since`, when it entered the stage); told once per stay in the stage."""

    TYPE = "OrderStuck"

    order_id: str
    stage: StuckStage
    since: datetime
    threshold_seconds: int
    detail: str
