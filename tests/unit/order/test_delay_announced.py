"""A delay operations announced, on the order: one timeline entry per announcement and
parcel, in each language; the ship date moves while the parcel waits in the warehouse."""

from __future__ import annotations

from datetime import date
from typing import Literal

from services.order.domain import reactions
from services.order.domain.order import Entry, Stage
from services.order.domain.stuck import anchors, promise_deadline
from services.order.timeline import describe
from tests.unit.order.test_domain import NOW, order, pay, ship

PROMISED, NEW = date(2026, 11, 12), date(2026, 11, 15)


def entry(stage: Literal["waiting", "on_its_way"], cause: str = "peak") -> Entry:
    details = {
        "cause": cause,
        "stage": stage,
        "shipment_id": "s1",
        "courier": "sf",
        "previous_date": PROMISED.isoformat(),
        "new_expected_date": NEW.isoformat(),
    }
    return Entry("delay_announced:dly_1:s1", NOW, "delay_announced", details)


def test_while_the_parcel_waits_the_ship_date_and_its_watch_move_to_the_new_date() -> None:
    o = order()
    pay(o)
    reactions.stock_reserved(o, PROMISED, NOW)
    outcome = reactions.delay_announced(o, "waiting", NEW, entry("waiting"))
    assert [e.kind for e in outcome.entries] == ["delay_announced"]
    assert o.promised_ship_date == NEW
    assert anchors(o).not_shipped == promise_deadline(NEW, o.time_zone)


def test_on_its_way_only_the_timeline_tells_the_new_arrival_date() -> None:
    o = order()
    pay(o)
    reactions.stock_reserved(o, PROMISED, NOW)
    ship(o)
    outcome = reactions.delay_announced(o, "on_its_way", NEW, entry("on_its_way"))
    assert [e.kind for e in outcome.entries] == ["delay_announced"]
    assert o.promised_ship_date == PROMISED


def test_a_delivered_parcel_or_an_ended_order_is_no_longer_late() -> None:
    delivered = order()
    pay(delivered)
    ship(delivered, Stage.DELIVERED)
    assert (
        reactions.delay_announced(delivered, "on_its_way", NEW, entry("on_its_way")).entries == []
    )
    ended = order()
    ended.stage = Stage.CANCELLED
    assert reactions.delay_announced(ended, "waiting", NEW, entry("waiting")).entries == []
    assert ended.promised_ship_date is None


def test_the_entry_says_why_and_whether_the_parcel_leaves_or_arrives_in_each_language() -> None:
    waiting, on_its_way = entry("waiting").details, entry("on_its_way", "courier_problem").details
    assert describe("delay_announced", waiting, "en") == (
        "Sorry, because of the rush of orders in this sales peak, your order now leaves our "
        "warehouse on 2026-11-15 instead of 2026-11-12."
    )
    assert describe("delay_announced", on_its_way, "en") == (
        "Sorry, because of a problem at SF Express, your parcel now arrives on 2026-11-15 "
        "instead of 2026-11-12."
    )
    assert "受顺丰速运的临时状况影响" in describe("delay_announced", on_its_way, "zh-CN")
    assert "从仓库发出" in describe("delay_announced", waiting, "zh-CN")
    assert "受順豐速運的臨時狀況影響" in describe("delay_announced", on_its_way, "zh-TW")
    assert "從倉庫出貨" in describe("delay_announced", waiting, "zh-TW")
    for lang in ("en", "zh-CN", "zh-TW"):
        causes = ("peak", "courier_problem", "weather", "other")
        said = {describe("delay_announced", entry("waiting", c).details, lang) for c in causes}
        assert len(said) == len(causes) and not any("{" in s for s in said), lang
