"""Events published by the returns service on `returns.v1`, keyed by order id."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from shared.contracts.envelope import Event, Money
from shared.contracts.events.common import LineQuantity


class RefundFlow(StrEnum):
    BEFORE_SHIPPING = "before_shipping"
    NO_RETURN = "no_return"
    WITH_RETURN = "with_return"


Actor = Literal["customer", "operations", "rule", "system"]


class RefundRequested(Event):
    TYPE = "RefundRequested"

    refund_request_id: str
    flow: RefundFlow
    reason: str
    lines: tuple[LineQuantity, ...]
    amount: Money
    return_shipping_paid_by: Literal["customer", "shop"] | None
    actor: Actor
    # set when a refund before shipping became this one because the parcel had left
    parcel_already_shipped: bool = False


class RefundApproved(Event):
    TYPE = "RefundApproved"

    refund_request_id: str
    flow: RefundFlow
    lines: tuple[LineQuantity, ...]
    amount: Money
    actor: Actor


class RefundRejected(Event):
    TYPE = "RefundRejected"

    refund_request_id: str
    reason: str
    actor: Actor


class ReturnShipped(Event):
    TYPE = "ReturnShipped"

    refund_request_id: str
    courier: str
    tracking_number: str


class ReturnReceived(Event):
    TYPE = "ReturnReceived"

    refund_request_id: str
    lines: tuple[LineQuantity, ...]
    received_at: datetime
    actor: Actor
