"""The order API's request and response bodies (they make its OpenAPI document)."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from services.order.domain.placing import normalise_phone, valid_email, valid_time_zone
from shared.contracts.events.common import Locale, PaymentMethod
from shared.http import BIGINT_MAX, INT_MAX, CurrencyCode


def _printable(value: str) -> str:
    """No control characters or lone surrogates: they cannot be stored or shown."""
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in value):
        raise ValueError("must not contain control characters")
    return value


_Trimmed = StringConstraints(strip_whitespace=True, min_length=1)
Text20 = Annotated[str, _Trimmed, Field(max_length=20), AfterValidator(_printable)]
Text100 = Annotated[str, _Trimmed, Field(max_length=100), AfterValidator(_printable)]
Text200 = Annotated[str, _Trimmed, Field(max_length=200), AfterValidator(_printable)]


Sku = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")]
CustomerId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")]


CouponCode = Annotated[
    str,
    StringConstraints(strip_whitespace=True),
    Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$", examples=["WELCOME10"]),
    AfterValidator(str.upper),
]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ItemIn(Body):
    sku: Sku
    name: Text200
    variant: Text100 | None = None
    quantity: int = Field(
        ge=1, le=INT_MAX, description="1 to the configured maximum (99 by default)"
    )
    unit_price: int = Field(
        ge=1,
        le=BIGINT_MAX,
        description="minor units (fen, cents); 1 to the configured maximum (10,000,000 by default)",
    )


def _phone(value: str | None) -> str | None:
    if value is None:
        return None
    phone = normalise_phone(_printable(value))
    if phone is None:
        raise ValueError("expected + and 6 to 15 digits (spaces and dashes allowed)")
    return phone


class ContactIn(Body):
    phone: str | None = Field(default=None, max_length=32, examples=["+86 138 0013 8000"])
    email: str | None = Field(default=None, max_length=254, examples=["li.wei@example.com"])

    @field_validator("phone")
    @classmethod
    def _valid_phone(cls, value: str | None) -> str | None:
        return _phone(value)

    @field_validator("email")
    @classmethod
    def _valid_email(cls, value: str | None) -> str | None:
        if value is not None and not valid_email(value.strip()):
            raise ValueError("not a valid email address")
        return value.strip() if value is not None else None

    @model_validator(mode="after")
    def _one_way_to_reach(self) -> ContactIn:
        if self.phone is None and self.email is None:
            raise ValueError("a phone number or an email address is required")
        return self


class AddressIn(Body):
    recipient: Text100
    phone: str | None = Field(default=None, max_length=32)
    line1: Text200
    line2: Text200 | None = None
    city: Text100
    region: Text100 | None = None
    postal_code: Text20 | None = None
    country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2, e.g. CN")

    @field_validator("phone")
    @classmethod
    def _valid_phone(cls, value: str | None) -> str | None:
        return _phone(value)


class PlaceOrder(Body):
    items: list[ItemIn] = Field(min_length=1, max_length=1000)
    currency: CurrencyCode = Field(examples=["CNY"])
    customer_id: CustomerId | None = Field(default=None, description="none for a guest")
    contact: ContactIn
    address: AddressIn
    locale: Locale
    time_zone: str | None = Field(default=None, max_length=64, description="IANA name")
    payment_method: PaymentMethod
    gift_message: Annotated[str, Field(max_length=2000), AfterValidator(_printable)] | None = None
    coupon_code: CouponCode | None = None
    courier: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$",
        examples=["sf"],
        description="a courier the shop offers at checkout (its surcharge joins shipping_fee); "
        "none: the shop chooses",
    )

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None and not valid_time_zone(value):
            raise ValueError("not an IANA time zone name, e.g. Asia/Shanghai")
        return value


class CancelOrder(Body):
    reason: Text200 = "customer_request"


class BackorderChoiceIn(Body):
    choice: Literal["ship_available", "wait"] = Field(
        description="ship what is in stock now (the rest refunded) or wait for the restock"
    )


class MoneyOut(BaseModel):
    amount: int
    currency: str


class LineOut(BaseModel):
    line_id: str
    sku: str
    name: str
    variant: str | None
    quantity: int
    unit_price: int
    line_total: int
    discount: int = Field(default=0, description="the line's share of the order's discount")


class TotalsOut(BaseModel):
    goods: MoneyOut | None = None
    discount: MoneyOut | None = None
    shipping_fee: MoneyOut | None = None
    coupon_code: str | None = None
    courier: str | None = Field(default=None, description="the courier chosen at checkout")
    courier_fee: MoneyOut | None = Field(
        default=None, description="the part of shipping_fee the courier chosen at checkout adds"
    )
    total: MoneyOut = Field(description="goods - discount + shipping_fee: what is charged")
    paid: MoneyOut
    refunded: MoneyOut
    due: MoneyOut


class PaymentOut(BaseModel):
    method: PaymentMethod
    status: str = Field(
        description="pending, pay_on_delivery, failed, paid, partially_refunded, refunded, "
        "expired, cancelled or not_charged (refused at the door)"
    )
    amount_due: MoneyOut
    due_at: datetime | None
    instructions: str
    checkout_url: str | None = None
    pay_link: str | None = None
    expires_at: str | None = None


class CheckpointOut(BaseModel):
    at: datetime
    kind: str
    city: str | None
    text: str = Field(description="the step as a sentence, in the response's `language`")
    description: str = Field(description="the same as `text` (kept for older clients)")


class ParcelLineOut(BaseModel):
    line_id: str
    sku: str
    name: str | None = Field(default=None, description="the order line's, when known")
    variant: str | None = None
    quantity: int


class ShipmentOut(BaseModel):
    requested_courier: str | None = Field(
        default=None, description="the courier chosen at checkout, if any"
    )
    shipment_id: str | None = None
    number: int | None = Field(default=None, description="which parcel: `number` of `of`")
    of: int | None = Field(default=None, description="how many parcels the order ships as")
    status: str | None = Field(
        default=None,
        description="waiting (in the warehouse), shipped, delivered, refused (or "
        "undeliverable: going back to the shop) or returned (back at the shop)",
    )
    warehouse: str | None = None
    lines: list[ParcelLineOut] = Field(default=[], description="the goods in this parcel")
    courier: str | None = None
    courier_name: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None
    address: dict[str, Any] | None = None
    shipped_at: str | None = None
    delivered_at: str | None = None
    refused: str | None = Field(default=None, description="refused or undeliverable")
    returned_at: str | None = None
    checkpoints: list[CheckpointOut] = []


class BackorderLineOut(BaseModel):
    line_id: str
    sku: str
    name: str
    variant: str | None = None
    quantity: int = Field(description="units short")
    held: int = Field(description="units of the line held for the order (they ship)")
    restock_expected: date | None = Field(
        default=None, description="when operations expect the SKU back, when known"
    )


class BackorderOut(BaseModel):
    state: Literal["open", "waiting", "dropped", "filled"] = Field(
        description="open (the customer may choose), waiting (for the restock), dropped "
        "(what is there ships, the short units are refunded) or filled (all in, ships whole)"
    )
    lines: list[BackorderLineOut] = Field(description="the lines with units short")
    choose_by: datetime | None = Field(description="the deadline of the customer's choice")
    default_choice: Literal["ship_available", "wait"] | None = Field(
        description="what applies with no choice by `choose_by`"
    )
    restock_expected: date | None = Field(
        description="the latest date operations expect a short SKU back, when known"
    )
    choice: Literal["ship_available", "wait"] | None = Field(description="the answer, if any")
    chosen_by: Literal["customer", "default"] | None = Field(
        description="who gave the answer: the customer or the deadline's default"
    )


class RefundOut(BaseModel):
    refund_id: str
    status: str
    amount: MoneyOut | None
    reason: str | None
    flow: str | None


class TimelineEntryOut(BaseModel):
    at: datetime
    kind: str = Field(description="what happened, for machines (stable across languages)")
    text: str = Field(description="the entry as a sentence, in the response's `language`")
    description: str = Field(description="the same as `text` (kept for older clients)")
    details: dict[str, Any]


class OrderOut(BaseModel):
    order_id: str
    status: str
    customer_id: str | None
    placed_at: datetime
    locale: Locale = Field(description="the language chosen at checkout")
    language: Locale = Field(
        description="the language of this response's sentences (`lang`, else Accept-Language, "
        "else `locale`)"
    )
    time_zone: str
    items: list[LineOut]
    totals: TotalsOut
    payment: PaymentOut
    promised_ship_date: date | None
    contact: dict[str, Any]
    delivery_address: dict[str, Any]
    gift_message: str | None
    shipment: ShipmentOut | None = Field(
        description="the parcel last handed to the courier, with its tracking (every parcel "
        "is in `parcels`)"
    )
    parcels: list[ShipmentOut] = Field(
        default=[],
        description="every parcel the order ships as, in their numbers' order, each with its "
        "goods, courier, tracking number and checkpoints; one for an order that ships whole",
    )
    backorder: BackorderOut | None = Field(
        default=None,
        description="units short at placement and the customer's choice (ship what is "
        "there or wait); null when everything was in stock",
    )
    refunds: list[RefundOut]
    timeline: list[TimelineEntryOut]


class PlacedOrderOut(OrderOut):
    access_token: str = Field(description="opens this order only (guests, message links)")
    order_url: str


class OrderSummaryOut(BaseModel):
    order_id: str
    status: str
    placed_at: datetime
    total: MoneyOut
    item_count: int
    first_item: str


class OrderPageOut(BaseModel):
    orders: list[OrderSummaryOut]
    next_cursor: str | None
