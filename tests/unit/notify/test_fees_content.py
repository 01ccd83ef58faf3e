"""The order confirmation shows the goods, the coupon's discount and the postage."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from services.notify import content, samples
from shared.contracts.envelope import Money


def test_the_charges_are_formatted_when_the_order_has_them() -> None:
    placed = samples.placed("en").model_copy(
        update={
            "discount": Money(amount=2_000, currency="CNY"),
            "shipping_fee": Money(amount=800, currency="CNY"),
            "coupon_code": "WELCOME20",
            "total": Money(amount=18_100, currency="CNY"),
        }
    )
    shown = content.context(
        "order_confirmation", "ord_1", placed, None, shop_name="Shop", tz=ZoneInfo("UTC")
    )
    assert (shown["goods"], shown["discount"], shown["shipping_fee"]) == (
        "¥193.00",
        "¥20.00",
        "¥8.00",
    )
    assert shown["coupon_code"] == "WELCOME20" and shown["total"] == "¥181.00"


def test_an_order_from_before_fees_shows_no_breakdown() -> None:
    shown = content.charges(samples.placed("zh-CN"))
    assert shown == {"goods": None, "discount": None, "coupon_code": None, "shipping_fee": None}


def test_free_shipping_with_a_discount_says_free() -> None:
    placed = samples.placed("en").model_copy(
        update={"discount": Money(amount=100, currency="CNY"), "shipping_fee": None}
    )
    assert content.charges(placed)["shipping_fee"] == "free"
