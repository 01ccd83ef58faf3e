"""An order that ships as several parcels: shipped with the first, delivered only with the
last (a parcel turned back holds nothing back), each parcel's facts once, in any order."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from services.order.domain import reactions
from services.order.domain.order import AUTO_CONFIRM, Entry, Order, Outcome, Stage
from services.order.domain.stuck import Thresholds, anchors, stuck_in
from services.order.presenter import order_view
from shared.contracts.events.common import PaymentMethod
from tests.unit.order.test_domain import NOW, order, pay

CONFIRM = timedelta(days=7)
HOUR = timedelta(hours=1)


def planned(o: Order, *shipments: str) -> Outcome:
    """Logistics lists the parcels: the first carries the tee, the others a mug each."""
    [line] = o.lines
    plan = [
        {
            "shipment_id": shipment,
            "warehouse": f"WH-{n}",
            "lines": [{"line_id": line.line_id, "sku": line.sku, "quantity": 1}],
        }
        for n, shipment in enumerate(shipments, 1)
    ]
    return reactions.ship_promised(o, NOW.date(), NOW, plan)


def facts(shipment: str, **more: Any) -> dict[str, Any]:
    return {"shipment_id": shipment, "courier": "sf", "tracking_number": f"SF-{shipment}"} | more


def ship(o: Order, shipment: str, at_hours: int = 1) -> Outcome:
    at = NOW + at_hours * HOUR
    details = {"courier": "sf", "tracking_number": f"SF-{shipment}"}
    entry = Entry(f"shipped:{shipment}", at, "shipped", details)
    shipped = facts(shipment, shipped_at=at.isoformat())
    return reactions.shipment_moved(o, Stage.SHIPPED, shipped, entry)


def deliver(o: Order, shipment: str, at_hours: int = 10) -> Outcome:
    at = NOW + at_hours * HOUR
    entry = Entry(f"delivered:{shipment}", at, "delivered", {"city": "Taipei"})
    return reactions.delivered(o, facts(shipment), entry, CONFIRM)


def refuse(o: Order, shipment: str, at_hours: int = 10) -> Outcome:
    details = facts(shipment, reason="refused", city="Taipei", description="")
    entry = Entry(f"parcel_refused:{shipment}", NOW + at_hours * HOUR, "parcel_refused", details)
    return reactions.refused(o, "refused", entry, CONFIRM)


def paid_in_two() -> Order:
    o = order()
    pay(o)
    planned(o, "s1", "s2")
    return o


def test_the_first_parcel_ships_the_order_and_only_the_last_delivers_it() -> None:
    o = paid_in_two()
    assert o.stage is Stage.PAID and o.shipment is None, "listed parcels are not shipped"
    ship(o, "s1")
    assert o.status == "shipped"
    assert deliver(o, "s1").timers == {} and o.status == "shipped", "one of two arrived"
    ship(o, "s2", at_hours=2)
    last = deliver(o, "s2", at_hours=20)
    assert o.status == "delivered"
    assert last.timers == {AUTO_CONFIRM: NOW + 20 * HOUR + CONFIRM}
    assert [e.key for e in last.entries] == ["delivered:s2"]


def test_a_delivery_told_twice_or_before_its_parcel_shipped_changes_nothing_twice() -> None:
    o = paid_in_two()
    ship(o, "s1")
    early = deliver(o, "s2", at_hours=30)  # parcel 2's delivery before its shipping
    assert early.timers == {} and o.status == "shipped"
    assert deliver(o, "s2", at_hours=30).timers == {}, "a repeat"
    done = deliver(o, "s1", at_hours=12)  # the last one told arrived before the other
    assert o.status == "delivered"
    assert done.timers == {AUTO_CONFIRM: NOW + 30 * HOUR + CONFIRM}, "from the last arrival"
    assert deliver(o, "s1", at_hours=12).timers == {}, "no second auto-confirmation"
    late = ship(o, "s2")
    assert o.status == "delivered" and late.timers == {}
    assert o.parcels["s2"]["delivered_at"] == (NOW + 30 * HOUR).isoformat()


def test_an_order_told_of_no_parcels_is_one_parcel_as_before() -> None:
    o = order()
    pay(o)
    ship(o, "s1")
    outcome = deliver(o, "s1")
    assert o.status == "delivered" and AUTO_CONFIRM in outcome.timers
    view = order_view(o, outcome.entries, "en")
    assert [(p.number, p.of, p.status) for p in view.parcels] == [(1, 1, "delivered")]
    assert view.shipment is not None and view.shipment.shipment_id == "s1"
    assert [(line.sku, line.quantity) for line in view.shipment.lines] == [("TEE", 2)]
    assert view.timeline[0].text == "Delivered in Taipei."


def test_a_parcel_numbered_by_its_event_waits_for_the_others_without_a_list() -> None:
    o = order()
    pay(o)
    entry = Entry("delivered:s1", NOW, "delivered", {"city": "Taipei"})
    reactions.delivered(o, facts("s1", number=1, of=2), entry, CONFIRM)
    assert o.status == "shipped", "parcel 2 of 2 is still to come"


def test_a_parcel_turned_back_does_not_hold_the_delivery_of_the_others_back() -> None:
    o = paid_in_two()
    ship(o, "s1")
    ship(o, "s2")
    deliver(o, "s1", at_hours=8)
    outcome = refuse(o, "s2", at_hours=9)
    assert o.status == "delivered", "the rest arrived: the order is delivered"
    assert outcome.timers == {AUTO_CONFIRM: NOW + 8 * HOUR + CONFIRM}
    assert [e.key for e in outcome.entries] == ["parcel_refused:s2"]
    assert refuse(o, "s2") == Outcome(), "told once"


def test_an_order_whose_parcels_all_went_back_is_not_delivered_nor_in_transit() -> None:
    o = paid_in_two()
    ship(o, "s1")
    ship(o, "s2")
    refuse(o, "s1")
    entry = Entry("returned_to_shop:s2", NOW + 9 * HOUR, "returned_to_shop", facts("s2"))
    reactions.returned_to_shop(o, entry, CONFIRM)
    assert o.status == "shipped" and o.payment_state == "paid"
    assert stuck_in(o, NOW + timedelta(days=30), Thresholds()) == []


def test_a_refusal_of_a_parcel_delivered_changes_nothing() -> None:
    o = paid_in_two()
    ship(o, "s1")
    deliver(o, "s1")
    assert refuse(o, "s1") == Outcome() and o.parcels["s1"].get("refused") is None


def test_a_cash_on_delivery_order_still_ends_refused_with_its_one_parcel() -> None:
    o = order(PaymentMethod.CASH_ON_DELIVERY)
    ship(o, "s1")
    [event] = refuse(o, "s1").events
    assert event.TYPE == "OrderRefused" and o.status == "refused"


def test_the_silence_in_transit_is_the_longest_of_the_parcels_on_their_way() -> None:
    o = paid_in_two()
    ship(o, "s1", at_hours=1)
    assert anchors(o).not_shipped is not None, "parcel 2 still waits in the warehouse"
    ship(o, "s2", at_hours=5)
    assert anchors(o).not_shipped is None
    assert anchors(o).silent_in_transit == NOW + HOUR
    deliver(o, "s1", at_hours=6)
    assert anchors(o).silent_in_transit == NOW + 5 * HOUR, "only parcel 2 is on its way"


def test_the_order_shows_each_parcel_and_its_timeline_says_which() -> None:
    o = paid_in_two()
    entries = [
        *ship(o, "s1").entries,
        *ship(o, "s2", at_hours=3).entries,
        *deliver(o, "s1").entries,
    ]
    view = order_view(o, entries, "en")
    one, two = view.parcels
    assert (one.number, one.of, one.status, one.warehouse) == (1, 2, "delivered", "WH-1")
    assert (two.number, two.of, two.status, two.tracking_number) == (2, 2, "shipped", "SF-s2")
    assert [line.name for line in one.lines] == ["Tee"]
    assert [c.kind for c in one.checkpoints] == ["shipped", "delivered"]
    assert [c.kind for c in two.checkpoints] == ["shipped"]
    assert view.shipment is not None and view.shipment.shipment_id == "s2", "the last shipped"
    texts = [e.text for e in view.timeline]
    assert texts[0].startswith("Seller has shipped parcel 1 of 2 with SF Express")
    assert texts[2] == "Parcel 1 of 2 delivered in Taipei."
    assert view.timeline[0].details["parcel"] == {"number": 1, "of": 2}
    chinese = order_view(o, entries, "zh-CN").timeline[1].text
    assert chinese.startswith("卖家已通过顺丰速运发出第 2 个包裹（共 2 个）")  # noqa: RUF001
    traditional = order_view(o, entries, "zh-TW").timeline[2].text
    assert traditional == "第 1 個包裹（共 2 個）已在Taipei送達。"  # noqa: RUF001
