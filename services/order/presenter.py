"""What the customer and the shop see of an order: its API representation."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from services.order.domain.order import ENDED, Entry, Order, Stage
from services.order.schemas import (
    CheckpointOut,
    LineOut,
    MoneyOut,
    OrderOut,
    OrderSummaryOut,
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


def shipment_view(order: Order, entries: list[Entry], lang: str) -> ShipmentOut | None:
    if order.shipment is None:
        return None
    checkpoints = []
    for e in entries:
        if e.kind in TRACKING_KINDS:
            text = describe(e.kind, e.details, lang)
            city = e.details.get("city")
            checkpoints.append(
                CheckpointOut(at=e.at, kind=e.kind, city=city, text=text, description=text)
            )
    shown = parcel(order.shipment, lang)
    return ShipmentOut(**shown, requested_courier=order.courier, checkpoints=checkpoints)


def timeline_entry(entry: Entry, lang: str) -> TimelineEntryOut:
    text = describe(entry.kind, entry.details, lang)
    details = parcel(entry.details, lang)
    return TimelineEntryOut(
        at=entry.at, kind=entry.kind, text=text, description=text, details=details
    )


def order_view(order: Order, entries: list[Entry], lang: str | None = None) -> OrderOut:
    """The order as its API shows it; customer text in `lang` (by default the order's)."""
    lang = lang or order.locale.value
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
        timeline=[timeline_entry(e, lang) for e in entries],
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
