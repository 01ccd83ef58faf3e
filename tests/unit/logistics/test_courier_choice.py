"""A courier chosen at checkout: honoured when logistics has it and it serves the region,
otherwise substituted (and told, the surcharge not collected on delivery)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from services.logistics.domain.shipping import (
    CourierChoice,
    Couriers,
    ShippingCalendar,
    Timing,
    courier_for,
)
from services.logistics.domain.stock import Fulfilment
from tests.unit.logistics.support import open_whole

COURIERS = Couriers(
    rotation=["zto", "yto", "sf"],
    by_region={"Guangdong": "sf"},
    offered=frozenset({"zto", "yto", "sf"}),
    excluded={"sf": ["Xinjiang"]},
)
NOW = datetime(2026, 11, 11, 2, 0, tzinfo=UTC)
CALENDAR = ShippingCalendar(ZoneInfo("Asia/Shanghai"), time(14, 0), frozenset({1, 2, 3, 4, 5}))
TIMING = Timing(CALENDAR, 0.0, 0.0, 3600.0, 2)


def test_a_courier_logistics_has_that_serves_the_region_is_honoured() -> None:
    assert courier_for("sf", "Zhejiang", COURIERS, 0) == CourierChoice("sf")
    assert courier_for("yto", "Guangdong", COURIERS, 0) == CourierChoice("yto"), "over the rule"
    assert courier_for("sf", None, COURIERS, 1) == CourierChoice("sf")


def test_a_courier_logistics_does_not_have_is_replaced_by_the_rule_or_rotation() -> None:
    assert courier_for("jd", "Guangdong", COURIERS, 0) == CourierChoice("sf", "not_available")
    assert courier_for("jd", "Zhejiang", COURIERS, 1) == CourierChoice("yto", "not_available")


def test_a_courier_that_does_not_serve_the_region_is_replaced_by_one_that_does() -> None:
    for turn in range(6):
        choice = courier_for("sf", "xinjiang", COURIERS, turn)  # any case
        assert choice.substituted == "not_serving_region"
        assert choice.courier in {"zto", "yto"}
    rule_excluded = replace(COURIERS, by_region={"Xinjiang": "sf"})
    assert courier_for(None, "Xinjiang", rule_excluded, 2).courier == "zto", "sf never goes there"


def test_without_a_choice_nothing_is_substituted() -> None:
    assert courier_for(None, "Guangdong", COURIERS, 0) == CourierChoice("sf")
    assert courier_for(None, "Zhejiang", COURIERS, 1) == CourierChoice("yto")


def order(method: str, fee: int | None = 1_500) -> Fulfilment:
    address = {"recipient": "Li", "line1": "1 Road", "city": "Urumqi", "country": "CN"}
    total = {"amount": 21_300, "currency": "CNY"}
    lines = [{"line_id": "l1", "sku": "TEE", "name": "Tee", "quantity": 1}]
    money = {"amount": fee, "currency": "CNY"} if fee is not None else None
    return Fulfilment(
        "ord_1", "reserved", method, lines, address, total, None, NOW, None, None,
        requested_courier="sf", courier_fee=money,
    )  # fmt: skip


def test_a_substitution_is_told_with_the_surcharge_the_customer_does_not_owe() -> None:
    opened = open_whole(order("card"), "shp_1", "zto", NOW, NOW, TIMING, "not_available")
    [_, told] = opened.events
    assert told.TYPE == "CourierSubstituted"
    assert (told.requested, told.courier, told.reason) == ("sf", "zto", "not_available")
    assert told.courier_fee is not None and told.courier_fee.amount == 1_500
    assert told.cash_on_delivery is None
    assert opened.booking is not None and opened.booking[1]["courier"] == "zto"


def test_cash_on_delivery_collects_the_total_without_the_surcharge_not_honoured() -> None:
    cod = order("cash_on_delivery")
    opened = open_whole(cod, "shp_1", "zto", NOW, NOW, TIMING, "not_serving_region")
    assert opened.shipment is not None
    assert opened.shipment.cash_on_delivery == {"amount": 19_800, "currency": "CNY"}
    told = opened.events[-1]
    assert told.cash_on_delivery is not None and told.cash_on_delivery.amount == 19_800

    honoured = open_whole(cod, "shp_2", "sf", NOW, NOW, TIMING)
    assert honoured.shipment is not None
    assert honoured.shipment.cash_on_delivery == {"amount": 21_300, "currency": "CNY"}
    assert [e.TYPE for e in honoured.events] == ["ShippingPromiseSet"]
