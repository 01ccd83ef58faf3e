"""A fixed sample order and one sample event per template.

The start-up check renders every template with these values, so a template
that names something the service never provides fails at start; the golden
files under tests/unit/notify/golden are rendered from the same samples.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from services.notify import content, domain, samples_exchanges
from shared.contracts.envelope import Event, Money
from shared.contracts.events import logistics, order, payment, returns
from shared.contracts.events.common import (
    Address,
    Contact,
    LineQuantity,
    Locale,
    OrderLine,
    PaymentMethod,
)

ORDER_ID = "ord_7f3a9c21"
PLACED_AT = datetime(2026, 11, 11, 2, 5, tzinfo=UTC)
CNY = "CNY"
# The sample parcel is the first of two, so that the previews (and the start-up check)
# show what a parcel of several says; a parcel of an order shipping whole says nothing.
PARCEL = logistics.ParcelNumber(number=1, of=2)


# What a customer of each locale would type at checkout.
LOCAL = {
    "zh-CN": (
        "李伟",
        "世纪大道88号1203室",
        "浦东新区",
        "上海市",
        "纯棉T恤",
        "红色 / M",
        "陶瓷马克杯",
    ),
    "zh-TW": (
        "李偉",
        "忠孝東路四段100號5樓",
        "大安區",
        "台北市",
        "純棉T恤",
        "紅色 / M",
        "陶瓷馬克杯",
    ),
    "en": (
        "Li Wei",
        "88 Century Avenue, Room 1203",
        "Shanghai",
        "Pudong",
        "Cotton T-shirt",
        "Red / M",
        "Ceramic mug",
    ),
}


def placed(locale: str) -> order.OrderPlaced:
    name, street, city, region, tee, size, mug = LOCAL[locale]
    return order.OrderPlaced(
        customer_id="cus_1024",
        lines=(
            OrderLine(
                line_id="l1",
                sku="TEE-RED-M",
                name=tee,
                variant=size,
                quantity=2,
                unit_price=Money(amount=7900, currency=CNY),
            ),
            OrderLine(
                line_id="l2",
                sku="MUG-01",
                name=mug,
                quantity=1,
                unit_price=Money(amount=3500, currency=CNY),
            ),
        ),
        total=Money(amount=19300, currency=CNY),
        contact=Contact(phone="+8613800138000", email="li.wei@example.com"),
        address=Address(
            recipient=name,
            phone="+8613800138000",
            line1=street,
            city=city,
            region=region,
            postal_code="200120",
            country="CN",
        ),
        locale=Locale(locale),
        time_zone="Asia/Shanghai",
        payment_method=PaymentMethod.WALLET,
        payment_due_at=datetime(2026, 11, 14, 2, 5, tzinfo=UTC),
        order_url=f"https://shop.example/orders/{ORDER_ID}?token=sample-token",
    )


def events(locale: str) -> dict[str, Event | dict[str, Any] | None]:
    money = Money(amount=19300, currency=CNY)
    at = datetime(2026, 11, 12, 7, 30, tzinfo=UTC)
    tee, size = LOCAL[locale][4:6]
    short = logistics.BackorderLine(
        line_id="l1", sku="TEE-RED-M", name=tee, variant=size, quantity=1, held=1
    )
    shipped = placed(locale)
    city = shipped.address.city
    parcel = {"shipment_id": "shp_1", "courier": "sf", "tracking_number": "SF1234567890"}
    return {
        "order_confirmation": None,
        "payment_received": order.OrderPaid(
            amount=money, payment_method=PaymentMethod.WALLET, paid_at=at
        ),
        "payment_failed": payment.PaymentFailed(
            attempt_id="att_1",
            method=PaymentMethod.CARD,
            reason="insufficient_funds",
            message="card declined",
            retry_allowed=True,
        ),
        "payment_reminder": {"variant": "A", "number": 1},
        "order_closed": order.OrderClosed(),
        "order_cancelled": order.OrderCancelled(reason="customer_request", was_paid=False),
        "stock_shortage_apology": order.OrderCancelled(reason="stock_shortage", was_paid=True),
        "shipped": logistics.ShipmentShipped(
            **parcel,
            lines=shipped.lines,
            address=shipped.address,
            shipped_at=at,
            parcel=PARCEL,
        ),
        "shipment_delayed": logistics.ShipmentDelayed(
            reason="not_shipped_by_promise",
            previous_date=date(2026, 11, 12),
            new_expected_date=date(2026, 11, 14),
        ),
        "arrived_in_city": logistics.CheckpointReached(
            **parcel,
            checkpoint_at=at,
            city=city,
            status="arrived_in_city",
            description="快件已到达转运中心",
        ),
        "delivery_failed": logistics.CheckpointReached(
            **parcel,
            checkpoint_at=at,
            city=city,
            status="failed_attempt",
            description="电话无人接听",
        ),
        "out_for_delivery": logistics.ShipmentWentOutForDelivery(
            **parcel,
            checkpoint_at=at,
            city=city,
        ),
        "delivered": logistics.ShipmentDelivered(
            **parcel,
            delivered_at=at,
            city=city,
            parcel=PARCEL,
        ),
        "delivery_refused": order.OrderRefused(reason="refused", was_paid=False),
        "refund_requested": returns.RefundRequested(
            refund_request_id="rr_1",
            flow=returns.RefundFlow.WITH_RETURN,
            reason="wrong_size",
            lines=(),
            amount=Money(amount=7900, currency=CNY),
            return_shipping_paid_by="customer",
            actor="customer",
        ),
        "price_difference": returns.RefundRequested(
            refund_request_id="rr_2",
            flow=returns.RefundFlow.NO_RETURN,
            reason="price_dropped",
            lines=(),
            amount=Money(amount=1500, currency=CNY),
            return_shipping_paid_by=None,
            actor="customer",
        ),
        "refund_approved": returns.RefundApproved(
            refund_request_id="rr_1",
            flow=returns.RefundFlow.WITH_RETURN,
            lines=(),
            amount=Money(amount=7900, currency=CNY),
            actor="operations",
        ),
        "refund_paid": payment.RefundPaid(
            refund_id="rf_1",
            refund_request_id="rr_1",
            amount=Money(amount=7900, currency=CNY),
            reason="wrong_size",
            paid_at=at,
        ),
        "return_received": returns.ReturnReceived(
            refund_request_id="rr_1", lines=(), received_at=at, actor="operations"
        ),
        "order_completed": order.OrderCompleted(
            confirmed_by="customer", review_url=f"https://shop.example/orders/{ORDER_ID}/review"
        ),
        "courier_changed": logistics.CourierSubstituted(
            shipment_id="shp_1",
            requested="sf",
            courier="zto",
            reason="not_serving_region",
            courier_fee=Money(amount=1500, currency=CNY),
        ),
        "stock_backordered": logistics.StockBackordered(
            lines=(short,),
            choose_by=at + timedelta(days=2),
            default_choice="ship_available",
            restock_expected=date(2026, 11, 20),
        ),
        "backorder_dropped": logistics.BackorderDropped(dropped=(short,), chosen_by="customer"),
        "backorder_waiting": logistics.BackorderWaiting(
            lines=(short,), restock_expected=None, chosen_by="default"
        ),
        "backorder_restock_changed": logistics.BackorderRestockDateChanged(
            lines=(short.model_copy(update={"restock_expected": date(2026, 11, 27)}),),
            restock_expected=date(2026, 11, 27),
        ),
        "backorder_filled": logistics.BackorderFilled(
            lines=(LineQuantity(line_id="l1", sku="TEE-RED-M", quantity=1),), filled_at=at
        ),
        "delay_announced": logistics.ShipmentDelayAnnounced(
            delay_id="dly_1",
            cause="weather",
            shipment_id="shp_1",
            courier="sf",
            stage="on_its_way",
            previous_date=date(2026, 11, 14),
            new_expected_date=date(2026, 11, 16),
        ),
        **samples_exchanges.events(locale, shipped.address),
    }


STOCK_RAN_LOW = logistics.StockRanLow(sku="TEE-RED-M", available=3, threshold=10, warehouse="SH-1")
UNSUBSCRIBE_URL = "https://notify.shop.example/v1/unsubscribe?token=sample-unsubscribe-token"


def values(shop_name: str = "Fulfil Shop") -> dict[str, dict[str, dict[str, Any]]]:
    """Template values for every template and locale: values[template][locale]."""
    out: dict[str, dict[str, dict[str, Any]]] = {
        t: {} for t in (*domain.TEMPLATES, *domain.OPS_TEMPLATES)
    }
    for locale in domain.LOCALES:
        samples = events(locale)
        the_order = placed(locale)
        for template in domain.TEMPLATES:
            tz = domain.zone(the_order.time_zone, "UTC")
            out[template][locale] = content.context(
                template, ORDER_ID, the_order, samples[template], shop_name=shop_name, tz=tz
            )
            if template in domain.NON_ESSENTIAL:
                out[template][locale]["unsubscribe_url"] = UNSUBSCRIBE_URL
        out["stock_ran_low"][locale] = content.stock_context(
            STOCK_RAN_LOW,
            at=PLACED_AT,
            quiet_seconds=6 * 3600,
            shop_name=shop_name,
            locale=locale,
            tz=domain.zone("Asia/Shanghai", "UTC"),
        )
    return out
