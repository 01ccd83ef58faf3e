"""The courier_changed message: the right words for why, and for the surcharge refunded
or, on cash on delivery, not collected."""

from __future__ import annotations

from services.notify import content, samples
from services.notify.domain import zone
from services.notify.templates import Templates
from shared.contracts.envelope import Money
from shared.contracts.events.logistics import CourierSubstituted

CNY = "CNY"


def sms(event: CourierSubstituted, locale: str = "en") -> str:
    placed = samples.placed(locale)
    values = content.context(
        "courier_changed", samples.ORDER_ID, placed, event, shop_name="Shop", tz=zone("UTC", "UTC")
    )
    return Templates().render("courier_changed", locale, "sms", values).text


def test_cash_on_delivery_is_told_the_surcharge_is_not_collected_and_what_to_pay() -> None:
    event = CourierSubstituted(
        shipment_id="shp_1",
        requested="sf",
        courier="yto",
        reason="not_available",
        courier_fee=Money(amount=1_500, currency=CNY),
        cash_on_delivery=Money(amount=9_900, currency=CNY),
    )
    text = sms(event)
    assert "SF Express is not available" in text and "goes with YTO Express" in text
    assert "¥15.00 surcharge is not collected: pay ¥99.00 on delivery" in text
    assert "refunded" not in text
    assert "不再收取" in sms(event, "zh-CN") and "¥99.00" in sms(event, "zh-CN")


def test_without_a_surcharge_nothing_is_said_of_money() -> None:
    event = CourierSubstituted(
        shipment_id="shp_1", requested="sf", courier="zto", reason="not_serving_region"
    )
    text = sms(event)
    assert "does not deliver to your area" in text
    assert "surcharge" not in text and "¥" not in text
