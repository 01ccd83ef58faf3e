"""What the customer and the shop see of an order: its API representation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from services.order.domain import parcels
from services.order.domain.order import ENDED, Entry, Order, Stage
from services.order.schemas import (
    BackorderLineOut,
    BackorderOut,
    CheckpointOut,
    LineOut,
    MoneyOut,
    OrderOut,
    OrderSummaryOut,
    ParcelLineOut,
    PaymentOut,
    RefundOut,
    ShipmentOut,
    TimelineEntryOut,
    TotalsOut,
)
from services.order.timeline import describe, parcel
from shared.contracts.events.common import Locale, PaymentMethod

TRACKING_KINDS = (
    "shipped",
    "checkpoint",
    "out_for_delivery",
    "delivered",
    "parcel_refused",
    "refused",
    "returned_to_shop",
)


def _money(order: Order, amount: int) -> MoneyOut:
    return MoneyOut(amount=amount, currency=order.currency)


def instructions(order: Order) -> str:
    if order.paid_amount > 0:
        return "Paid. Thank you!"
    if order.stage is Stage.REFUSED:
        return "Nothing to pay: the parcel went back to the shop."
    if order.cash_on_delivery:
        return "Pay the courier on delivery."
    due = "the due time"
    if order.payment_due_at is not None:
        local = order.payment_due_at.astimezone(ZoneInfo(order.time_zone))
        due = f"{local:%Y-%m-%d %H:%M} ({order.time_zone})"
    if order.payment_method is PaymentMethod.PAY_FOR_ME:
        return f"Share the pay-for-me link with the friend who pays, before {due}."
    return f"Complete the payment before {due}; the payment link appears here once it is ready."


def amount_due(order: Order) -> int:
    return order.total if order.paid_amount == 0 and order.stage not in ENDED else 0


def payment_view(order: Order) -> PaymentOut:
    due = amount_due(order)
    return PaymentOut(
        method=order.payment_method,
        status=order.payment_state,
        amount_due=_money(order, due),
        due_at=order.payment_due_at,
        instructions=instructions(order),
        checkout_url=order.payment.get("checkout_url"),
        pay_link=order.payment.get("pay_link"),
        expires_at=order.payment.get("expires_at"),
    )


def _checkpoints(entries: list[Entry], lang: str) -> list[CheckpointOut]:
    checkpoints = []
    for e in entries:
        if e.kind in TRACKING_KINDS:
            text = describe(e.kind, e.details, lang)
            city = e.details.get("city")
            checkpoints.append(
                CheckpointOut(at=e.at, kind=e.kind, city=city, text=text, description=text)
            )
    return checkpoints


def _lines(order: Order, shipped: dict[str, Any]) -> list[ParcelLineOut]:
    """The parcel's goods, named as the order names them; an order that ships whole (or
    shipped before parcels were told) carries all of its lines."""
    goods = shipped.get("lines")
    if not goods and parcels.expected(order) == 1:
        goods = [line.model_dump(include={"line_id", "sku", "quantity"}) for line in order.lines]
    named = {line.line_id: line for line in order.lines}
    out = []
    for good in goods or []:
        line = named.get(good["line_id"])
        name, variant = (line.name, line.variant) if line else (None, None)
        out.append(ParcelLineOut(**good, name=name, variant=variant))
    return out


def _steps(order: Order, shipped: dict[str, Any], entries: list[Entry]) -> list[Entry]:
    """The tracking steps of one parcel: all of them for an order of one parcel."""
    if parcels.expected(order) == 1:
        return entries
    return [e for e in entries if parcels.shipment_of(e) == shipped.get("shipment_id")]


def _parcel_view(
    order: Order, shipped: dict[str, Any], entries: list[Entry], lang: str, number: int, of: int
) -> ShipmentOut:
    shown = parcel(shipped, lang) | {"number": number, "of": of, "status": parcels.state(shipped)}
    return ShipmentOut(
        **(shown | {"lines": _lines(order, shipped)}),
        requested_courier=order.courier,
        checkpoints=_checkpoints(_steps(order, shipped, entries), lang),
    )


def parcels_view(order: Order, entries: list[Entry], lang: str) -> list[ShipmentOut]:
    """Every parcel the order ships as, each with its goods and its own tracking steps."""
    return [
        _parcel_view(order, shipped, entries, lang, number, of)
        for number, of, shipped in parcels.numbered(order)
    ]


def shipment_view(order: Order, entries: list[Entry], lang: str) -> ShipmentOut | None:
    """The parcel last handed to the courier (domain.parcels.latest), as readers that know
    one parcel show it: for an order of one parcel, as before parcels were told."""
    if order.shipment is None:
        return None
    shipment_id = order.shipment.get("shipment_id")
    for view in parcels_view(order, entries, lang):
        if view.shipment_id == shipment_id:
            return view
    return ShipmentOut(
        **parcel(order.shipment, lang),
        requested_courier=order.courier,
        checkpoints=_checkpoints(entries, lang),
    )


def _numbers(order: Order) -> dict[str, dict[str, int]]:
    """Each parcel's number, by shipment, for an order of several: its entries speak of
    "parcel 1 of 2". None for an order of one, whose entries read as they always did."""
    if parcels.expected(order) == 1:
        return {}
    return {p["shipment_id"]: {"number": n, "of": of} for n, of, p in parcels.numbered(order)}


def backorder_view(order: Order) -> BackorderOut | None:
    """The order's backorder (units short at placement), None when it has none."""
    b = order.backorder
    if b is None:
        return None
    fields = set(BackorderLineOut.model_fields)
    return BackorderOut(
        state=b["state"],
        lines=[
            BackorderLineOut(**{k: v for k, v in line.items() if k in fields})
            for line in b.get("lines") or []
        ],
        choose_by=b.get("choose_by"),
        default_choice=b.get("default_choice"),
        restock_expected=b.get("restock_expected"),
        choice=b.get("choice"),
        chosen_by=b.get("chosen_by"),
    )


def timeline_entry(
    entry: Entry, lang: str, numbers: Mapping[str, dict[str, int]] | None = None
) -> TimelineEntryOut:
    """One entry; `numbers` (by shipment) says which parcel an entry about one is."""
    number = (numbers or {}).get(parcels.shipment_of(entry) or "")
    details = entry.details if number is None else {**entry.details, "parcel": number}
    text = describe(entry.kind, details, lang)
    return TimelineEntryOut(
        at=entry.at, kind=entry.kind, text=text, description=text, details=parcel(details, lang)
    )


def order_view(order: Order, entries: list[Entry], lang: str | None = None) -> OrderOut:
    """The order as its API shows it; customer text in `lang` (by default the order's)."""
    lang = lang or order.locale.value
    numbers = _numbers(order)
    return OrderOut(
        order_id=order.order_id,
        status=order.status,
        customer_id=order.customer_id,
        placed_at=order.placed_at,
        locale=order.locale,
        language=Locale(lang),
        time_zone=order.time_zone,
        items=[
            LineOut(
                line_id=line.line_id,
                sku=line.sku,
                name=line.name,
                variant=line.variant,
                quantity=line.quantity,
                unit_price=line.unit_price.amount,
                line_total=line.quantity * line.unit_price.amount,
                discount=line.discount.amount if line.discount else 0,
            )
            for line in order.lines
        ],
        totals=TotalsOut(
            goods=_money(order, order.goods),
            discount=_money(order, order.discount),
            shipping_fee=_money(order, order.shipping_fee),
            coupon_code=order.coupon_code,
            courier=order.courier,
            courier_fee=_money(order, order.courier_fee) if order.courier else None,
            total=_money(order, order.total),
            paid=_money(order, order.paid_amount),
            refunded=_money(order, order.refunded_amount),
            due=_money(order, amount_due(order)),
        ),
        payment=payment_view(order),
        promised_ship_date=order.promised_ship_date,
        contact=order.contact.model_dump(mode="json"),
        delivery_address=order.address.model_dump(mode="json"),
        gift_message=order.gift_message,
        shipment=shipment_view(order, entries, lang),
        parcels=parcels_view(order, entries, lang),
        backorder=backorder_view(order),
        refunds=[
            RefundOut(
                refund_id=refund_id,
                status=refund["status"],
                amount=None if refund.get("amount") is None else _money(order, refund["amount"]),
                reason=refund.get("reason"),
                flow=refund.get("flow"),
            )
            for refund_id, refund in order.refunds.items()
        ],
        timeline=[timeline_entry(e, lang, numbers) for e in entries],
    )


def summary(order: Order) -> OrderSummaryOut:
    return OrderSummaryOut(
        order_id=order.order_id,
        status=order.status,
        placed_at=order.placed_at,
        total=_money(order, order.total),
        item_count=sum(line.quantity for line in order.lines),
        first_item=order.lines[0].name,
    )
