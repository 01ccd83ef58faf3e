"""One sample event per exchange message, about the sample order of samples.py: two of
its T-shirts exchanged for the next size up, ¥10.00 more, to pay before it ships."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from shared.contracts.envelope import Event, Money
from shared.contracts.events import logistics, payment, returns
from shared.contracts.events.common import Address, ExchangeItem, LineQuantity

EXCHANGE_ID = "exc_5d2e8b10"
CHECKOUT_URL = "https://pay.example/checkout/cs_exc_5d2e8b10"
# The replacement as the catalogue of each locale names it: the sample tee, one size up.
REPLACEMENT = {
    "zh-CN": ("纯棉T恤", "红色 / L"),
    "zh-TW": ("純棉T恤", "紅色 / L"),
    "en": ("Cotton T-shirt", "Red / L"),
}


def replacement(locale: str) -> ExchangeItem:
    name, variant = REPLACEMENT[locale]
    return ExchangeItem(
        sku="TEE-RED-L",
        name=name,
        variant=variant,
        quantity=2,
        unit_price=Money(amount=8400, currency="CNY"),
    )


def events(locale: str, address: Address) -> dict[str, Event | dict[str, Any] | None]:
    at = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
    pay_by = at + timedelta(hours=48)
    difference = Money(amount=1000, currency="CNY")
    return {
        "exchange_accepted": returns.ExchangeAccepted(
            exchange_id=EXCHANGE_ID,
            reason="wrong_size",
            line=LineQuantity(line_id="l1", sku="TEE-RED-M", quantity=2),
            replacement=replacement(locale),
            difference=difference,
            settlement="charge",
            ships="on_return",
            return_shipping_paid_by="customer",
            pay_by=pay_by,
            return_by=at + timedelta(days=7),
        ),
        "exchange_payment_requested": payment.ExchangePaymentRequested(
            exchange_id=EXCHANGE_ID,
            attempt_id="att_exc_1",
            amount=difference,
            checkout_url=CHECKOUT_URL,
            expires_at=pay_by,
        ),
        "exchange_refused": returns.ExchangeRefused(
            exchange_id=EXCHANGE_ID, reason="out_of_stock", message="TEE-RED-L: 0 available"
        ),
        "exchange_shipped": logistics.ExchangeShipped(
            exchange_id=EXCHANGE_ID,
            shipment_id="shp_exc_1",
            courier="sf",
            tracking_number="SF9876543210",
            replacement=replacement(locale),
            address=address,
            shipped_at=at,
        ),
        "exchange_delivered": logistics.ExchangeDelivered(
            exchange_id=EXCHANGE_ID,
            shipment_id="shp_exc_1",
            courier="sf",
            tracking_number="SF9876543210",
            delivered_at=at + timedelta(days=2),
        ),
        "exchange_cancelled": returns.ExchangeCancelled(exchange_id=EXCHANGE_ID, reason="unpaid"),
    }
