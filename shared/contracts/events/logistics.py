"""Events published by the logistics service.

`shipments.v1` is keyed by order id; `stock.v1` (StockRanLow) is keyed by SKU. Three
facts were renamed to the past tense in version 2 (StockRanShort, ShipmentWentOutForDelivery,
StockRanLow); their v1 models stay, retired, so that what is still on the topics is read.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from shared.contracts.envelope import Event, Money, retired_v1
from shared.contracts.events.common import (
    Address,
    BackorderChoice,
    ExchangeItem,
    LineQuantity,
    OrderLine,
    Value,
)


class ShortLine(Value):
    sku: str
    requested: int
    available: int


class StockReserved(Event):
    TYPE = "StockReserved"

    lines: tuple[LineQuantity, ...]
    promised_ship_date: date


class PlannedParcel(Value):
    """One parcel an order ships as: its shipment, the warehouse it leaves from and the
    goods it carries."""

    shipment_id: str
    warehouse: str
    lines: tuple[LineQuantity, ...]


class ParcelNumber(Value):
    """Which of the order's parcels this is: `number` of `of` (1 of 1 for an order that
    ships whole)."""

    number: int = Field(ge=1)
    of: int = Field(ge=1)


class ShippingPromiseSet(Event):
    """The ship date logistics now promises and watches: set when the order is paid (or
    opened for cash on delivery); a later change is told by ShipmentDelayed. `parcels`
    (minor 1) are the parcels the order ships as, each with its goods, once they are
    opened: goods in several warehouses leave as several parcels, and the order is
    delivered when every one of them is. Absent on events from before parcels were told:
    read as one parcel, `shipment_id`."""

    TYPE = "ShippingPromiseSet"
    MINOR = 1  # 1: the parcels

    promised_ship_date: date
    shipment_id: str | None = None
    parcels: tuple[PlannedParcel, ...] = ()


class StockRanShort(Event):
    """Some lines could not be reserved: the order cannot be filled as placed. Version 2
    of the fact published as `StockShortage` (v1), renamed to the past tense."""

    TYPE = "StockRanShort"
    VERSION = 2

    lines: tuple[ShortLine, ...]


StockShortage = retired_v1(StockRanShort, "StockShortage")


class BackorderLine(Value):
    """A line of which some units are not in stock: `quantity` of them are short, `held`
    are held for the order (and ship)."""

    line_id: str
    sku: str
    name: str
    variant: str | None = None
    quantity: int = Field(ge=1)
    held: int = Field(ge=0)
    restock_expected: date | None = None  # when operations expect the SKU back


class StockBackordered(Event):
    """Some of the order's units were not in stock when it was placed: the order is not
    cancelled. What is there is held; the customer chooses, by `choose_by`, to ship what
    is there (the short units refunded once paid: BackorderDropped) or to wait for the
    restock (BackorderWaiting), served first come, first served (BackorderFilled). With no
    choice by then, `default_choice` applies. `restock_expected` is the latest date
    operations expect a short SKU back (None: not known). Never told for cash on
    delivery, which stays all or nothing (StockRanShort)."""

    TYPE = "StockBackordered"

    lines: tuple[BackorderLine, ...]
    choose_by: datetime
    default_choice: BackorderChoice
    restock_expected: date | None = None


class BackorderDropped(Event):
    """The order ships what is there: the short units in `dropped` will not be sent, and
    returns refunds them once the order is paid. StockReserved follows for what ships.
    `chosen_by` says whether the customer chose it or the deadline's default applied."""

    TYPE = "BackorderDropped"

    dropped: tuple[BackorderLine, ...]
    chosen_by: Literal["customer", "default"]


class BackorderWaiting(Event):
    """The order waits for the restock of its short units and then ships whole; waiting
    orders are served first come, first served (BackorderFilled)."""

    TYPE = "BackorderWaiting"

    lines: tuple[BackorderLine, ...]
    restock_expected: date | None = None
    chosen_by: Literal["customer", "default"]


class BackorderFilled(Event):
    """A restock operations recorded now holds every unit of the order (`lines`: the units
    it brought). StockReserved follows with the promised ship date."""

    TYPE = "BackorderFilled"

    lines: tuple[LineQuantity, ...]
    filled_at: datetime


class BackorderRestockDateChanged(Event):
    """Operations changed the date they expect a short SKU back (or no longer know it)
    while this order's backorder waits for it, open or waiting: `lines` are its short
    lines with the dates now expected, `restock_expected` the latest of them (None: not
    known). Told once per order for each change that moves that latest date."""

    TYPE = "BackorderRestockDateChanged"

    lines: tuple[BackorderLine, ...]
    restock_expected: date | None = None


class StockReleased(Event):
    TYPE = "StockReleased"

    reason: str


class ParcelFact(Event):
    """What every fact about a parcel on its way names: the shipment and how the courier
    tracks it."""

    shipment_id: str
    courier: str
    tracking_number: str


class ShipmentShipped(ParcelFact):
    """The courier took the parcel. `lines` are the goods in this parcel (all of the
    order's when it ships whole); `parcel` (minor 2) says which of the order's parcels it
    is, absent on events from before parcels were told."""

    TYPE = "ShipmentShipped"
    MINOR = 2  # 1: each line's share of the discount; 2: the parcel's number

    lines: tuple[OrderLine, ...]
    address: Address
    shipped_at: datetime
    cash_on_delivery: Money | None = None
    expected_delivery_date: date | None = None
    parcel: ParcelNumber | None = None


class ShipmentPicked(Event):
    """The warehouse took the order's goods off the shelf (with warehouse steps on): the
    parcel is not packed nor handed to the courier yet."""

    TYPE = "ShipmentPicked"

    shipment_id: str
    picked_at: datetime


class ShipmentPacked(Event):
    """The warehouse packed the order's goods: what the courier will weigh and carry. Only
    the hand-over to the courier that follows is ShipmentShipped."""

    TYPE = "ShipmentPacked"

    shipment_id: str
    packed_at: datetime
    weight_grams: int = Field(gt=0)
    parcels: int = Field(ge=1)


class CheckpointReached(ParcelFact):
    TYPE = "CheckpointReached"

    checkpoint_at: datetime
    city: str
    status: str
    description: str


class ShipmentWentOutForDelivery(ParcelFact):
    """The courier took the parcel out on its last leg. Version 2 of the fact published as
    `ShipmentOutForDelivery` (v1), renamed to the past tense."""

    TYPE = "ShipmentWentOutForDelivery"
    VERSION = 2

    checkpoint_at: datetime
    city: str


ShipmentOutForDelivery = retired_v1(ShipmentWentOutForDelivery, "ShipmentOutForDelivery")


class ShipmentDelivered(ParcelFact):
    """The parcel arrived. `parcel` (minor 1): which of the order's parcels, absent on
    events from before parcels were told; the order is delivered once all of them are."""

    TYPE = "ShipmentDelivered"
    MINOR = 1  # 1: the parcel's number

    delivered_at: datetime
    city: str
    cash_collected: Money | None = None
    parcel: ParcelNumber | None = None


class ShipmentRefused(ParcelFact):
    """The parcel will not be delivered and goes back to the shop: the recipient refused
    it at the door (`refused`), or the courier gave up on it, after repeated failed
    attempts or by sending it back (`undeliverable`). A cash-on-delivery parcel was not
    paid for. Told once per parcel."""

    TYPE = "ShipmentRefused"

    reason: Literal["refused", "undeliverable"]
    refused_at: datetime
    city: str
    description: str = ""


class ShipmentReturnedToShop(ParcelFact):
    """A refused parcel is back at the shop (the courier's report, or the warehouse's):
    its goods are on the shelf again (`restocked`). Told once per parcel."""

    TYPE = "ShipmentReturnedToShop"

    returned_at: datetime
    restocked: tuple[LineQuantity, ...]


class CourierSubstituted(Event):
    """The courier the customer chose at checkout (`requested`) will not carry the parcel:
    logistics does not have it (`not_available`) or it does not serve the delivery region
    (`not_serving_region`); `courier` will. `courier_fee` is the surcharge the customer
    paid for the choice, which they do not owe: refunded when paid online, or taken off
    `cash_on_delivery`, what the courier now collects. Told once per shipment."""

    TYPE = "CourierSubstituted"

    shipment_id: str
    requested: str
    courier: str
    reason: Literal["not_available", "not_serving_region"]
    courier_fee: Money | None = None
    cash_on_delivery: Money | None = None


class ShipmentDelayed(Event):
    TYPE = "ShipmentDelayed"

    reason: Literal["not_shipped_by_promise", "no_checkpoint"]
    shipment_id: str | None = None
    previous_date: date
    new_expected_date: date


class ShipmentDelayAnnounced(Event):
    """Operations announced a delay (a sales peak, a courier's problem, the weather) that
    this parcel falls under, before its expected date passed: it is now expected on
    `new_expected_date` (the day it leaves while still in the warehouse, `waiting`; the
    day it arrives once `on_its_way`). Told once per announcement and shipment; a later
    miss is still told by ShipmentDelayed."""

    TYPE = "ShipmentDelayAnnounced"

    delay_id: str
    cause: Literal["peak", "courier_problem", "weather", "other"]
    shipment_id: str
    courier: str
    stage: Literal["waiting", "on_its_way"]
    previous_date: date
    new_expected_date: date


class ShipmentCancelled(Event):
    TYPE = "ShipmentCancelled"

    reason: str


class ShipmentStopped(Event):
    """The answer to a refund before shipping: nothing will leave for this order (a pending
    shipment was cancelled, or none was due) and whatever stock it held is released."""

    TYPE = "ShipmentStopped"

    refund_request_id: str
    shipment_id: str | None = None
    stock_released: bool


class ShipmentAlreadyDispatched(Event):
    """The answer to a refund before shipping when the parcel had already left: it was not
    stopped, so the refund cannot be made as one before shipping."""

    TYPE = "ShipmentAlreadyDispatched"

    refund_request_id: str
    shipment_id: str
    courier: str
    tracking_number: str | None = None
    shipped_at: datetime | None = None


class StockRanLow(Event):
    """Published on `stock.v1` once each time a SKU falls under its threshold. Version 2 of
    the fact published as `LowStock` (v1), renamed to the past tense."""

    TYPE = "StockRanLow"
    VERSION = 2

    sku: str
    available: int = Field(ge=0)
    threshold: int = Field(ge=0)
    warehouse: str | None = None


LowStock = retired_v1(StockRanLow, "LowStock")


class PriceChanged(Event):
    """Published on `stock.v1` each time operations set a SKU's selling price: the price
    history, recorded with the time it took effect (a price-difference refund is checked
    against it)."""

    TYPE = "PriceChanged"

    sku: str
    price: Money
    changed_at: datetime


class ExchangeReserved(Event):
    """The replacement of an exchange is held for it in `warehouse`, at the catalogue's
    price (`replacement.unit_price`)."""

    TYPE = "ExchangeReserved"

    exchange_id: str
    replacement: ExchangeItem
    warehouse: str


class ExchangeUnavailable(Event):
    """The replacement cannot be held: `reason` unknown_sku (not in the catalogue),
    not_same_product (another product than the line's) or out_of_stock."""

    TYPE = "ExchangeUnavailable"

    exchange_id: str
    reason: Literal["unknown_sku", "not_same_product", "out_of_stock"]
    message: str


class ExchangeShipped(Event):
    """The courier took the replacement of an exchange."""

    TYPE = "ExchangeShipped"

    exchange_id: str
    shipment_id: str
    courier: str
    tracking_number: str
    replacement: ExchangeItem
    address: Address
    shipped_at: datetime


class ExchangeDelivered(Event):
    """The replacement of an exchange was delivered: its parcel's delivery checkpoint,
    told once per parcel. The order's own parcel facts never speak of it."""

    TYPE = "ExchangeDelivered"

    exchange_id: str
    shipment_id: str
    courier: str
    tracking_number: str
    delivered_at: datetime
