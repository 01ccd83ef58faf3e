"""Customer-readable sentences for timeline entries.

Entries are stored as a kind and its details; the sentence is written when the
order is read, so wording can change without touching stored history.
"""

from __future__ import annotations

from typing import Any

from shared.contracts import couriers

SENTENCES: dict[str, str] = {
    "placed": "Order placed.",
    "payment_requested": "Waiting for your payment.",
    "payment_failed": "Payment did not go through: {message}",
    "paid": "Buyer has paid {money}.",
    "late_payment": "A payment of {money} arrived after the order ended; it will be refunded.",
    "stock_reserved": "Your items are reserved; they will ship by {promised_ship_date}.",
    "ship_promised": "Your order will ship by {promised_ship_date}.",
    "cancellation_requested": "You cancelled the order; your refund is on its way.",
    "cancelled": "Order cancelled ({reason_text}).",
    "closed": "Order closed: payment was not received in time.",
    "shipped": "Seller has shipped your order with {courier}, tracking number {tracking_number}.",
    "checkpoint": "{city}: {description}",
    "out_for_delivery": "Out for delivery in {city}.",
    "delivered": "Delivered in {city}.",
    "delayed": "Sorry, your order is delayed; it is now expected by {new_expected_date}.",
    "shipment_cancelled": "The shipment was stopped.",
    "refund_requested": "Refund of {money} requested.",
    "refund_converted": (
        "Your parcel had already left: once it comes back to us (refuse it at the door "
        "or send it back), your refund of {money} is paid."
    ),
    "refund_approved": "Refund of {money} approved.",
    "refund_rejected": "Refund request declined: {reason}",
    "return_shipped": "Return sent with {courier}, tracking number {tracking_number}.",
    "return_received": "Your returned items have arrived.",
    "refund_paid": "Refund of {money} paid. We hope to serve you again.",
    "refund_failed": "Your refund is delayed; we are trying again.",
    "completed": "Order completed. Thank you for shopping with us!",
}

TRACK = "Follow it on the courier's site: {tracking_url}"

REASONS = {
    "customer_request": "at your request",
    "stock_shortage": "sorry, some items ran out of stock",
    "payment_failed": "the payment could not be completed",
    "payment_window_expired": "payment was not received in time",
}

# Minor units per major unit for the currencies the contracts accept.
_DECIMALS = {"JPY": 0}


def money_text(amount: int, currency: str) -> str:
    decimals = _DECIMALS.get(currency, 2)
    return f"{currency} {amount / 10**decimals:,.{decimals}f}"


def parcel(details: dict[str, Any], locale: str) -> dict[str, Any]:
    """An entry's details with the courier's name in `locale` and its tracking page, when the
    entry names a courier by its code; the code stays for machines."""
    code, number = details.get("courier"), details.get("tracking_number")
    if not isinstance(code, str):
        return details
    url = couriers.tracking_url(code, number) if isinstance(number, str) else None
    return {**details, "courier_name": couriers.courier_name(code, locale), "tracking_url": url}


def describe(kind: str, details: dict[str, Any], locale: str = couriers.DEFAULT_LOCALE) -> str:
    details = parcel(details, locale)
    values = {key: value for key, value in details.items() if value is not None}
    if "courier_name" in values:
        values["courier"] = values["courier_name"]
    if "amount" in details and "currency" in details:
        values["money"] = money_text(details["amount"], details["currency"])
    values["reason_text"] = REASONS.get(str(details.get("reason")), str(details.get("reason")))
    try:
        sentence = SENTENCES.get(kind, kind.replace("_", " ").capitalize()).format(**values)
    except (KeyError, ValueError, IndexError):
        return kind.replace("_", " ").capitalize() + "."
    if "tracking_url" in values:
        sentence += " " + TRACK.format(tracking_url=values["tracking_url"])
    return sentence
