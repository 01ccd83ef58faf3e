"""Value objects that several services' events carry."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.envelope import Money


class Locale(StrEnum):
    ZH_CN = "zh-CN"
    ZH_TW = "zh-TW"
    EN = "en"


class PaymentMethod(StrEnum):
    WALLET = "wallet"
    ONLINE_BANKING = "online_banking"
    CARD = "card"
    CASH_ON_DELIVERY = "cash_on_delivery"
    PAY_FOR_ME = "pay_for_me"


class Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class OrderLine(Value):
    line_id: str
    sku: str
    name: str
    variant: str | None = None
    quantity: int = Field(ge=1)
    unit_price: Money
    # the line's share of the order's discount (largest remainder, exact to the minor unit);
    # absent on orders placed before discounts existed, read as none
    discount: Money | None = None


class Contact(Value):
    phone: str | None = None
    email: str | None = None


class Address(Value):
    recipient: str
    phone: str | None = None
    line1: str
    line2: str | None = None
    city: str
    region: str | None = None
    postal_code: str | None = None
    country: str


class LineQuantity(Value):
    line_id: str
    sku: str
    quantity: int = Field(ge=1)


BackorderChoice = Literal["ship_available", "wait"]
"""What a customer whose order is partly out of stock chooses: ship what is there (the
rest refunded), or wait for the restock and ship everything."""


class ExchangeItem(Value):
    """The variant an exchange sends instead of the units returned: its SKU, name and
    variant as the catalogue holds them, how many, and its price each (the catalogue's
    current price; the returned line's own unit price when the SKU has none recorded)."""

    sku: str
    name: str
    variant: str | None = None
    quantity: int = Field(ge=1)
    unit_price: Money


ExchangeShips = Literal["on_return", "at_once"]
"""When an accepted exchange's replacement leaves: once the returned units are received,
or at once (a quality problem, where the shop chose so)."""
