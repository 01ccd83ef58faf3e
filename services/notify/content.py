"""What a message says: the values its template is rendered with, formatted for its locale.

Pure: the order (its OrderPlaced), the event that happened and the clock-free
facts go in; a dict of ready-to-print strings comes out. Templates only place
these values; they never format money or dates themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from services.notify import content_backorders, content_exchanges, domain
from services.notify.formats import day, moment, money
from shared.contracts import couriers
from shared.contracts.envelope import Event, Money
from shared.contracts.events import logistics, order, payment, returns
from shared.contracts.events.common import OrderLine, PaymentMethod

METHODS = {
    "zh-CN": {
        "wallet": "电子钱包",
        "online_banking": "网上银行",
        "card": "银行卡",
        "cash_on_delivery": "货到付款",
        "pay_for_me": "好友代付",
    },
    "zh-TW": {
        "wallet": "電子錢包",
        "online_banking": "網路銀行",
        "card": "信用卡或金融卡",
        "cash_on_delivery": "貨到付款",
        "pay_for_me": "好友代付",
    },
    "en": {
        "wallet": "wallet",
        "online_banking": "online banking",
        "card": "card",
        "cash_on_delivery": "cash on delivery",
        "pay_for_me": "pay-for-me link",
    },
}
# Why operations announced a delay (ShipmentDelayAnnounced.cause), as the message says it
# after "because of"; `{courier}` is the courier's name in the same locale.
CAUSES = {
    "zh-CN": {
        "peak": "促销高峰期订单量激增",
        "courier_problem": "{courier}的临时状况",
        "weather": "恶劣天气",
        "other": "突发情况",
    },
    "zh-TW": {
        "peak": "促銷高峰期訂單量大增",
        "courier_problem": "{courier}的臨時狀況",
        "weather": "惡劣天候",
        "other": "突發狀況",
    },
    "en": {
        "peak": "the rush of orders in this sales peak",
        "courier_problem": "a problem at {courier}",
        "weather": "bad weather",
        "other": "an unexpected problem",
    },
}


def items(lines: tuple[OrderLine, ...]) -> list[dict[str, Any]]:
    return [{"name": x.name, "variant": x.variant, "quantity": x.quantity} for x in lines]


Extra = Callable[[Any, order.OrderPlaced, ZoneInfo, str], dict[str, Any]]


def _confirmation(_: Any, placed: order.OrderPlaced, tz: ZoneInfo, locale: str) -> dict[str, Any]:
    due = placed.payment_due_at
    return {
        "payment_method": METHODS[locale][placed.payment_method.value],
        "cash_on_delivery": placed.payment_method.value == "cash_on_delivery",
        "payment_due": moment(due, tz, locale) if due else None,
    }


def _paid(e: order.OrderPaid, _p: order.OrderPlaced, tz: ZoneInfo, loc: str) -> dict[str, Any]:
    return {
        "amount": money(e.amount),
        "paid_at": moment(e.paid_at, tz, loc),
        # paid through the link the customer shared: told to the customer, not the payer
        "friend_paid": e.payment_method is PaymentMethod.PAY_FOR_ME,
    }


def _failed(
    e: payment.PaymentFailed, p: order.OrderPlaced, tz: ZoneInfo, loc: str
) -> dict[str, Any]:
    due = p.payment_due_at
    return {"retry_allowed": e.retry_allowed, "payment_due": moment(due, tz, loc) if due else None}


def _reminder(e: dict[str, Any], p: order.OrderPlaced, tz: ZoneInfo, loc: str) -> dict[str, Any]:
    due = p.payment_due_at
    return {
        "variant": e["variant"],
        "number": e["number"],
        "payment_due": moment(due, tz, loc) if due else None,
    }


def _cancelled(e: order.OrderCancelled, *_: Any) -> dict[str, Any]:
    return {"reason": e.reason, "was_paid": e.was_paid}


def _refused(e: order.OrderRefused, *_: Any) -> dict[str, Any]:
    return {"reason": e.reason, "was_paid": e.was_paid}


# Which parcel of several a message is about, as each locale says it.
PARCEL_OF = {
    "zh-CN": "第 {number} 个包裹，共 {of} 个",  # noqa: RUF001
    "zh-TW": "第 {number} 個包裹，共 {of} 個",  # noqa: RUF001
    "en": "parcel {number} of {of}",
}


def _which(parcel: logistics.ParcelNumber | None, locale: str) -> dict[str, Any]:
    """`parcel` ("parcel 1 of 2") and `parcel_count` when the order ships as several
    parcels; both None for an order that ships whole, whose messages read as before."""
    if parcel is None or parcel.of <= 1:
        return {"parcel": None, "parcel_count": None}
    text = PARCEL_OF[locale].format(number=parcel.number, of=parcel.of)
    return {"parcel": text, "parcel_count": parcel.of}


def _parcel(courier: str, tracking_number: str, locale: str) -> dict[str, Any]:
    """The courier by the name the customer knows, and the page following the parcel."""
    return {
        "courier": couriers.courier_name(courier, locale),
        "tracking_number": tracking_number,
        "tracking_url": couriers.tracking_url(courier, tracking_number),
    }


def _shipped(
    e: logistics.ShipmentShipped, placed: order.OrderPlaced, tz: ZoneInfo, loc: str
) -> dict[str, Any]:
    expected: date | None = getattr(e, "expected_delivery_date", None)
    return {
        **_parcel(e.courier, e.tracking_number, loc),
        **_which(e.parcel, loc),
        "shipped_items": items(e.lines or placed.lines),  # the parcel's goods
        "recipient": e.address.recipient,
        "address": domain.masked_address(e.address, loc),
        "expected_delivery": day(expected, loc) if expected else None,
        "cash_on_delivery": money(e.cash_on_delivery) if e.cash_on_delivery else None,
    }


def _delayed(e: logistics.ShipmentDelayed, _p: Any, _tz: Any, loc: str) -> dict[str, Any]:
    return {
        "reason": e.reason,
        "previous_date": day(e.previous_date, loc),
        "new_date": day(e.new_expected_date, loc),
    }


def _courier_changed(
    e: logistics.CourierSubstituted, _p: Any, _tz: Any, loc: str
) -> dict[str, Any]:
    """The courier asked for and the one bringing the parcel, by their names, why, and the
    surcharge not owed: refunded, or not collected (`cash_on_delivery`: what is due now)."""
    return {
        "requested": couriers.courier_name(e.requested, loc),
        "courier": couriers.courier_name(e.courier, loc),
        "reason": e.reason,
        "courier_fee": money(e.courier_fee) if e.courier_fee else None,
        "cash_on_delivery": money(e.cash_on_delivery) if e.cash_on_delivery else None,
    }


def _delay_announced(
    e: logistics.ShipmentDelayAnnounced, _p: Any, _tz: Any, loc: str
) -> dict[str, Any]:
    """Why operations delayed the parcel, in words, the courier by its name, the date it was
    due and the new one: the day it leaves the warehouse (`leaves`, still `waiting` there)
    or, once `on_its_way`, the day it arrives."""
    courier = couriers.courier_name(e.courier, loc)
    return {
        "cause": CAUSES[loc][e.cause].format(courier=courier),
        "courier": courier,
        "leaves": e.stage == "waiting",
        "previous_date": day(e.previous_date, loc),
        "new_date": day(e.new_expected_date, loc),
    }


def _out(e: logistics.ShipmentWentOutForDelivery, _p: Any, _tz: Any, loc: str) -> dict[str, Any]:
    return {**_parcel(e.courier, e.tracking_number, loc), "city": e.city}


def _checkpoint(e: logistics.CheckpointReached, _p: Any, tz: ZoneInfo, loc: str) -> dict[str, Any]:
    return {
        **_parcel(e.courier, e.tracking_number, loc),
        "city": e.city,
        "at": moment(e.checkpoint_at, tz, loc),
        "description": e.description,  # the courier's own words, as it wrote them
    }


def _delivered(e: logistics.ShipmentDelivered, _p: Any, tz: ZoneInfo, loc: str) -> dict[str, Any]:
    return {
        **_parcel(e.courier, e.tracking_number, loc),
        **_which(e.parcel, loc),
        "delivered_at": moment(e.delivered_at, tz, loc),
        "cash_collected": money(e.cash_collected) if e.cash_collected else None,
    }


def _refund_requested(e: returns.RefundRequested, *_: Any) -> dict[str, Any]:
    return {
        "amount": money(e.amount),
        "flow": e.flow.value,
        "return_shipping_paid_by": e.return_shipping_paid_by,
        "parcel_already_shipped": e.parcel_already_shipped,
    }


def _refund_approved(e: returns.RefundApproved, *_: Any) -> dict[str, Any]:
    return {"amount": money(e.amount), "flow": e.flow.value}


def _refund_paid(e: payment.RefundPaid, _p: Any, tz: ZoneInfo, loc: str) -> dict[str, Any]:
    return {
        "amount": money(e.amount),
        "paid_at": moment(e.paid_at, tz, loc),
        "late_payment": e.reason == "late_payment",
    }


def _return_received(e: returns.ReturnReceived, _p: Any, tz: ZoneInfo, loc: str) -> dict[str, Any]:
    return {"received_at": moment(e.received_at, tz, loc)}


def _completed(e: order.OrderCompleted, placed: order.OrderPlaced, *_: Any) -> dict[str, Any]:
    return {"review_url": e.review_url or placed.order_url, "confirmed_by": e.confirmed_by}


def _nothing(*_: Any) -> dict[str, Any]:
    return {}


EXTRAS: dict[str, Extra] = {
    "order_confirmation": _confirmation,
    "payment_received": _paid,
    "payment_failed": _failed,
    "payment_reminder": _reminder,
    "order_closed": _nothing,
    "order_cancelled": _cancelled,
    "stock_shortage_apology": _cancelled,
    "shipped": _shipped,
    "shipment_delayed": _delayed,
    "arrived_in_city": _checkpoint,
    "out_for_delivery": _out,
    "delivery_failed": _checkpoint,
    "delivered": _delivered,
    "delivery_refused": _refused,
    "refund_requested": _refund_requested,
    "price_difference": _refund_requested,
    "refund_approved": _refund_approved,
    "refund_paid": _refund_paid,
    "return_received": _return_received,
    "order_completed": _completed,
    "courier_changed": _courier_changed,
    "delay_announced": _delay_announced,
    **content_backorders.EXTRAS,
    **content_exchanges.EXTRAS,
}


def charges(placed: order.OrderPlaced) -> dict[str, Any]:
    """The order's money beyond its goods, for every template: `goods`, `discount` (with
    `coupon_code`) and `shipping_fee` ("free" when 0), all None for an order without a
    discount or a fee (as orders were before fees existed)."""
    discount, fee = placed.discount, placed.shipping_fee
    if not (discount and discount.amount) and not (fee and fee.amount):
        return {"goods": None, "discount": None, "coupon_code": None, "shipping_fee": None}
    goods = sum(line.unit_price.amount * line.quantity for line in placed.lines)
    currency = placed.total.currency
    return {
        "goods": money(Money(amount=goods, currency=currency)),
        "discount": money(discount) if discount and discount.amount else None,
        "coupon_code": placed.coupon_code,
        "shipping_fee": money(fee) if fee and fee.amount else "free",
    }


def context(
    template: str,
    order_id: str,
    placed: order.OrderPlaced,
    event: Event | dict[str, Any] | None,
    *,
    shop_name: str,
    tz: ZoneInfo,
    order_url: str | None = None,
) -> dict[str, Any]:
    """Everything the template of `template` may print, in the order's locale; `order_url`,
    when given, is the order page the links lead to (else the link the order carries)."""
    locale = placed.locale.value
    return {
        "shop_name": shop_name,
        "locale": locale,
        "order_id": order_id,
        "order_url": order_url or placed.order_url,
        "name": placed.address.recipient,
        "items": items(placed.lines),
        "total": money(placed.total),
        **charges(placed),
        "unsubscribe_url": None,  # set per recipient for a non-essential email
        **EXTRAS[template](event, placed, tz, locale),
    }


def stock_context(
    warning: logistics.StockRanLow,
    *,
    at: datetime,
    quiet_seconds: float,
    shop_name: str,
    locale: str,
    tz: ZoneInfo,
) -> dict[str, Any]:
    """What the operations mail about a SKU under its threshold may print (`at`: when the
    warning happened)."""
    return {
        "shop_name": shop_name,
        "locale": locale,
        "sku": warning.sku,
        "warehouse": warning.warehouse,
        "available": warning.available,
        "threshold": warning.threshold,
        "sold_out": warning.available == 0,
        "warned_at": moment(at, tz, locale),
        "quiet_period": span(quiet_seconds, locale),
    }


_UNITS = {
    "en": (("day", "days"), ("hour", "hours"), ("minute", "minutes")),
    "zh-CN": (("天", "天"), ("小时", "小时"), ("分钟", "分钟")),
    "zh-TW": (("天", "天"), ("小時", "小時"), ("分鐘", "分鐘")),
}


def span(seconds: float, locale: str) -> str:
    """A duration in its largest whole unit (`6 hours`, `6小时`), at least a minute."""
    names = _UNITS[locale]
    for (one, many), size in zip(names, (86400, 3600, 60), strict=True):
        if (seconds >= size and seconds % size == 0) or size == 60:
            count = max(1, round(seconds / size))
            word = one if count == 1 else many
            return f"{count} {word}" if locale == "en" else f"{count}{word}"
    raise AssertionError("unreachable")
