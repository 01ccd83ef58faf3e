"""Events published by the returns service on `returns.v1`, keyed by order id."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from shared.contracts.envelope import Event, Money
from shared.contracts.events.common import ExchangeItem, ExchangeShips, LineQuantity


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


class ExchangeRequested(Event):
    """A customer asks to exchange units of a delivered line for another variant of the
    same product (`replacement_sku`), within the no-reason window or for a quality
    problem. Logistics answers ExchangeReserved or ExchangeUnavailable."""

    TYPE = "ExchangeRequested"

    exchange_id: str
    reason: str
    line: LineQuantity
    replacement_sku: str
    actor: Actor


class ExchangeAccepted(Event):
    """The replacement is reserved and the exchange accepted. `difference` is what the
    replacement costs more (`settlement` "charge": paid before it ships, by `pay_by`, else
    the exchange is cancelled) or less ("refund": refunded once the returned units are
    received) than what was paid for the units returned, after their share of the
    discount; "none" when they cost the same. `ships` says when the replacement leaves;
    the customer sends the units back, postage paid by `return_shipping_paid_by`, by
    `return_by` (else the exchange is cancelled, `not_returned`)."""

    TYPE = "ExchangeAccepted"

    exchange_id: str
    reason: str
    line: LineQuantity
    replacement: ExchangeItem
    difference: Money
    settlement: Literal["charge", "refund", "none"]
    ships: ExchangeShips
    return_shipping_paid_by: Literal["customer", "shop"]
    pay_by: datetime | None = None
    return_by: datetime | None = None


class ExchangeRefused(Event):
    """The exchange cannot be made (`reason`: unknown_sku, not_same_product,
    out_of_stock); nothing was reserved. The customer may ask for a refund instead."""

    TYPE = "ExchangeRefused"

    exchange_id: str
    reason: str
    message: str


class ExchangeReturnShipped(Event):
    TYPE = "ExchangeReturnShipped"

    exchange_id: str
    courier: str
    tracking_number: str


class ExchangeReturnReceived(Event):
    """The units the customer exchanged are back with the shop (logistics restocks them)."""

    TYPE = "ExchangeReturnReceived"

    exchange_id: str
    lines: tuple[LineQuantity, ...]
    received_at: datetime
    actor: Actor


class ExchangeReleased(Event):
    """The replacement may leave now: any difference charged is paid, and the returned
    units are received (or it ships at once). Logistics ships it (ExchangeShipped)."""

    TYPE = "ExchangeReleased"

    exchange_id: str
    replacement: ExchangeItem


class ExchangeCancelled(Event):
    """The exchange ended without shipping (`reason`: `unpaid`, the difference not paid by
    its deadline; `not_returned`, the units not sent back by theirs; `currency_mismatch`,
    the replacement priced in another currency). Logistics releases the replacement;
    payment closes the open charge and refunds one already captured."""

    TYPE = "ExchangeCancelled"

    exchange_id: str
    reason: str
