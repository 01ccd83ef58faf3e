"""What the exchange messages say: the units sent back and the replacement, who pays the
return postage, the difference (to pay, refunded once the return arrives, or nothing), when
the replacement leaves, the link and deadline to pay, why an exchange cannot be made or
was cancelled, and the replacement's parcel."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from services.notify import domain
from services.notify.formats import moment, money
from shared.contracts import couriers
from shared.contracts.events import logistics, payment, returns
from shared.contracts.events.common import ExchangeItem, LineQuantity
from shared.contracts.events.order import OrderPlaced

# Why an exchange cannot be made (ExchangeRefused.reason), said after "because"; any
# other reason reads as `other`.
REFUSED_BECAUSE = {
    "zh-CN": {
        "unknown_sku": "您选择的款式不在我们的商品目录中",
        "not_same_product": "您选择的商品与原商品不是同一款，"  # noqa: RUF001
        "换货仅限同一商品的其他款式（如尺码、颜色）",  # noqa: RUF001
        "out_of_stock": "您选择的款式暂时缺货",
        "other": "这件商品暂时无法换货",
    },
    "zh-TW": {
        "unknown_sku": "您選擇的款式不在我們的商品目錄中",
        "not_same_product": "您選擇的商品與原商品並非同一款，"  # noqa: RUF001
        "換貨僅限同一商品的其他款式（如尺寸、顏色）",  # noqa: RUF001
        "out_of_stock": "您選擇的款式目前缺貨",
        "other": "這件商品目前無法換貨",
    },
    "en": {
        "unknown_sku": "the variant you chose is not in our catalogue",
        "not_same_product": "the item you chose is a different product, and an exchange is "
        "for another variant (a size, a colour) of the same product",
        "out_of_stock": "the variant you chose is out of stock",
        "other": "this item cannot be exchanged at the moment",
    },
}
# Why an accepted exchange ended without shipping (ExchangeCancelled.reason).
CANCELLED_BECAUSE = {
    "zh-CN": {
        "unpaid": "差价未在付款期限内支付",
        "not_returned": "原商品未在期限内寄回",
        "currency_mismatch": "新商品的标价币种与订单不同",
        "other": "换货未能完成",
    },
    "zh-TW": {
        "unpaid": "差額未在付款期限內支付",
        "not_returned": "原商品未在期限內寄回",
        "currency_mismatch": "新商品的標價幣別與訂單不同",
        "other": "換貨未能完成",
    },
    "en": {
        "unpaid": "the difference was not paid by the deadline",
        "not_returned": "the item was not sent back by the deadline",
        "currency_mismatch": "the new item is priced in another currency than your order",
        "other": "it could not be done",
    },
}


def item(x: ExchangeItem) -> dict[str, Any]:
    return {"name": x.name, "variant": x.variant, "quantity": x.quantity}


def returned(line: LineQuantity, placed: OrderPlaced) -> list[dict[str, Any]]:
    """The units sent back, named as the order names its line (its SKU if the order has no
    such line)."""
    named = {x.line_id: x for x in placed.lines}.get(line.line_id)
    name, variant = (named.name, named.variant) if named else (line.sku, None)
    return [{"name": name, "variant": variant, "quantity": line.quantity}]


def ships_when(e: returns.ExchangeAccepted) -> str:
    """When the replacement leaves: `now`, once `paid`, once `returned`, or once
    `paid_and_returned` (a difference to pay is paid before anything ships)."""
    paid = e.settlement == "charge"
    if e.ships == "at_once":
        return "paid" if paid else "now"
    return "paid_and_returned" if paid else "returned"


def _accepted(
    e: returns.ExchangeAccepted, placed: OrderPlaced, tz: ZoneInfo, loc: str
) -> dict[str, Any]:
    return {
        "replacement": item(e.replacement),
        "returned_items": returned(e.line, placed),
        "return_shipping_paid_by": e.return_shipping_paid_by,
        "settlement": e.settlement,
        "difference": money(e.difference),
        "pay_by": moment(e.pay_by, tz, loc) if e.pay_by else None,
        # the return deadline ends only an exchange whose replacement waits for the units
        "return_by": (
            moment(e.return_by, tz, loc) if e.return_by and e.ships == "on_return" else None
        ),
        "ships_when": ships_when(e),
    }


def _payment_requested(
    e: payment.ExchangePaymentRequested, _p: OrderPlaced, tz: ZoneInfo, loc: str
) -> dict[str, Any]:
    """The difference, the provider's page to pay it (None: paid from the order page) and
    the deadline."""
    return {
        "amount": money(e.amount),
        "checkout_url": e.checkout_url,
        "pay_by": moment(e.expires_at, tz, loc) if e.expires_at else None,
    }


def _refused(
    e: returns.ExchangeRefused, _p: OrderPlaced, _tz: ZoneInfo, loc: str
) -> dict[str, Any]:
    because = REFUSED_BECAUSE[loc]
    return {"reason": e.reason, "because": because.get(e.reason, because["other"])}


def _shipped(
    e: logistics.ExchangeShipped, _p: OrderPlaced, _tz: ZoneInfo, loc: str
) -> dict[str, Any]:
    return {
        "replacement": item(e.replacement),
        "courier": couriers.courier_name(e.courier, loc),
        "tracking_number": e.tracking_number,
        "tracking_url": couriers.tracking_url(e.courier, e.tracking_number),
        "recipient": e.address.recipient,
        "address": domain.masked_address(e.address, loc),
    }


def _delivered(
    e: logistics.ExchangeDelivered, _p: OrderPlaced, tz: ZoneInfo, loc: str
) -> dict[str, Any]:
    return {
        "courier": couriers.courier_name(e.courier, loc),
        "tracking_number": e.tracking_number,
        "delivered_at": moment(e.delivered_at, tz, loc),
    }


def _cancelled(
    e: returns.ExchangeCancelled, _p: OrderPlaced, _tz: ZoneInfo, loc: str
) -> dict[str, Any]:
    because = CANCELLED_BECAUSE[loc]
    return {"unpaid": e.reason == "unpaid", "because": because.get(e.reason, because["other"])}


EXTRAS: dict[str, Callable[[Any, OrderPlaced, ZoneInfo, str], dict[str, Any]]] = {
    "exchange_accepted": _accepted,
    "exchange_payment_requested": _payment_requested,
    "exchange_refused": _refused,
    "exchange_shipped": _shipped,
    "exchange_delivered": _delivered,
    "exchange_cancelled": _cancelled,
}
