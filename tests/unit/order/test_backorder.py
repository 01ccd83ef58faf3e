"""A backorder on the order: held, not cancelled; its state only moves forward however its
events arrive; the customer's answer is told once; the stuck-order watch waits for it; the
timeline says each step in the three languages."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from services.order.domain import backorder, reactions
from services.order.domain.order import NotAllowed, Order, Stage
from services.order.domain.stuck import anchors, promise_deadline
from services.order.presenter import backorder_view
from services.order.timeline import describe
from tests.unit.order.test_domain import NOW, order, pay

TEE = "Tee (red) \u00d7 1"
CHOOSE_BY = NOW + timedelta(days=2)
RESTOCK = date(2026, 11, 20)
LINE: dict[str, Any] = {
    "line_id": "l1",
    "sku": "TEE",
    "name": "Tee",
    "variant": "red",
    "quantity": 1,
    "held": 1,
    "restock_expected": RESTOCK.isoformat(),
}


def backordered(o: Order) -> list[str]:
    outcome = backorder.backordered(o, [dict(LINE)], CHOOSE_BY, "ship_available", RESTOCK, NOW)
    return [e.kind for e in outcome.entries]


def test_a_backorder_keeps_the_order_placed_and_shows_what_is_short() -> None:
    o = order()
    assert backordered(o) == ["backordered"]
    assert o.stage is Stage.PLACED and o.status == "placed"
    view = backorder_view(o)
    assert view is not None and view.state == "open"
    assert view.choose_by == CHOOSE_BY and view.default_choice == "ship_available"
    assert view.restock_expected == RESTOCK and view.choice is None and view.chosen_by is None
    [line] = view.lines
    assert (line.line_id, line.quantity, line.held, line.restock_expected) == ("l1", 1, 1, RESTOCK)
    assert backorder_view(order()) is None


def test_the_customer_answers_once_the_same_answer_again_changes_nothing() -> None:
    o = order()
    backordered(o)
    first = backorder.choose(o, "wait", NOW)
    [event] = first.events
    assert event.TYPE == "BackorderChoiceMade" and event.choice == "wait"
    assert [e.kind for e in first.entries] == ["backorder_chosen"]
    assert o.backorder is not None
    assert (o.backorder["choice"], o.backorder["chosen_by"]) == ("wait", "customer")
    again = backorder.choose(o, "wait", NOW)
    assert again.events == [] and again.entries == []
    with pytest.raises(NotAllowed) as other:
        backorder.choose(o, "ship_available", NOW)
    assert other.value.code == "backorder_answered"


@pytest.mark.parametrize("how", ["no_backorder", "dropped", "filled", "ended"])
def test_no_answer_without_a_backorder_or_once_it_is_settled(how: str) -> None:
    o = order()
    if how != "no_backorder":
        backordered(o)
    if how == "dropped":
        backorder.dropped(o, [dict(LINE)], "default", NOW)
    elif how == "filled":
        backorder.filled(o, [{"line_id": "l1", "sku": "TEE", "quantity": 1}], NOW)
    elif how == "ended":
        reactions.stock_shortage(o, [], NOW)
    with pytest.raises(NotAllowed) as refused:
        backorder.choose(o, "wait", NOW)
    assert refused.value.code == ("no_backorder" if how == "no_backorder" else "backorder_closed")


def test_the_outcome_moves_the_state_forward_and_records_who_chose() -> None:
    o = order()
    backordered(o)
    backorder.waiting(o, [dict(LINE)], RESTOCK, "customer", NOW)
    assert o.backorder is not None and o.backorder["state"] == "waiting"
    assert (o.backorder["choice"], o.backorder["chosen_by"]) == ("wait", "customer")
    backorder.filled(o, [{"line_id": "l1", "sku": "TEE", "quantity": 1}], NOW)
    assert o.backorder["state"] == "filled"
    assert o.backorder["lines"][0]["held"] == 2, "every unit is held"
    backorder.filled(o, [{"line_id": "l1", "sku": "TEE", "quantity": 1}], NOW)  # again
    backorder.waiting(o, [dict(LINE)], RESTOCK, "customer", NOW)  # late
    backordered(o)  # late
    assert o.backorder["state"] == "filled" and o.backorder["lines"][0]["held"] == 2


def test_waiting_told_before_the_backorder_is_not_put_back_to_open() -> None:
    o = order()
    backorder.waiting(o, [dict(LINE)], RESTOCK, "default", NOW)
    assert backordered(o) == ["backordered"]
    assert o.backorder is not None and o.backorder["state"] == "waiting"
    assert o.backorder["choose_by"] == CHOOSE_BY.isoformat(), "the late event fills in"
    assert (o.backorder["choice"], o.backorder["chosen_by"]) == ("wait", "default")


def test_dropped_is_final_and_the_order_stays_paid() -> None:
    o = order()
    backordered(o)
    pay(o)
    backorder.dropped(o, [dict(LINE)], "customer", NOW)
    backorder.waiting(o, [dict(LINE)], RESTOCK, "default", NOW)
    assert o.backorder is not None and o.backorder["state"] == "dropped"
    assert o.backorder["choice"] == "ship_available" and o.stage is Stage.PAID


def test_the_stuck_watch_waits_while_the_backorder_is_open_or_waiting() -> None:
    o = order()
    backordered(o)
    pay(o)
    o.promised_ship_date = date(2026, 11, 12)
    assert anchors(o).not_shipped is None
    backorder.waiting(o, [dict(LINE)], RESTOCK, "customer", NOW)
    assert anchors(o).not_shipped is None
    backorder.filled(o, [{"line_id": "l1", "sku": "TEE", "quantity": 1}], NOW)
    assert anchors(o).not_shipped == promise_deadline(date(2026, 11, 12), o.time_zone)


def test_each_step_is_said_in_the_three_languages() -> None:
    o = order()
    entries = backorder.backordered(o, [dict(LINE)], CHOOSE_BY, "ship_available", RESTOCK, NOW)
    entries.entries += backorder.choose(o, "ship_available", NOW).entries
    entries.entries += backorder.waiting(order(), [dict(LINE)], None, "default", NOW).entries
    entries.entries += backorder.dropped(order(), [dict(LINE)], "customer", NOW).entries
    entries.entries += backorder.filled(order(), [], NOW).entries
    english = [describe(e.kind, e.details, "en") for e in entries.entries]
    assert english[0] == (
        f"Some items are out of stock: {TEE}. What is in stock is held for you. Choose "
        "by 2026-11-13 14:00 (Asia/Taipei) whether to ship it now or to wait for the rest; "
        "without an answer, we will ship what is in stock. The restock is expected on "
        "2026-11-20."
    )
    assert english[1].startswith("You chose to receive what is in stock now")
    assert english[2] == (
        f"Your order waits for {TEE}; it ships whole once they are in. No choice was "
        "made in time, so the default applied."
    )
    assert english[3].startswith(f"{TEE} will not be sent")
    assert english[4] == "Everything is in stock now; your order will ship whole soon."
    simplified = [describe(e.kind, e.details, "zh-CN") for e in entries.entries]
    assert (
        simplified[0].startswith(f"部分商品缺货\uff1a{TEE}\u3002")
        and "先发出有货的商品" in simplified[0]
    )
    assert "预计 2026-11-20 补货。" in simplified[0]
    traditional = [describe(e.kind, e.details, "zh-TW") for e in entries.entries]
    assert traditional[0].startswith("部分商品缺貨") and "先寄出有貨的商品" in traditional[0]
    assert traditional[4].startswith("缺貨商品已全部到貨")
    for said in (english, simplified, traditional):
        assert not any("{" in s for s in said) and len(set(said)) == 5


def test_a_new_restock_date_is_shown_and_said_while_the_order_waits() -> None:
    o = order()
    backordered(o)
    later = date(2026, 11, 27)
    moved = backorder.restock_changed(
        o, [{**LINE, "restock_expected": later.isoformat()}], later, NOW, "f1"
    )
    view = backorder_view(o)
    assert view is not None and view.state == "open", "the state does not change"
    assert view.restock_expected == later and view.lines[0].restock_expected == later
    assert o.stage is Stage.PLACED
    [entry] = moved.entries
    said = {lang: describe(entry.kind, entry.details, lang) for lang in ("en", "zh-CN", "zh-TW")}
    assert said["en"] == "The restock of Tee (red) \u00d7 1 is now expected on 2026-11-27."
    assert "现预计 2026-11-27 补货" in said["zh-CN"] and "現預計 2026-11-27 補貨" in said["zh-TW"]
    cleared = backorder.restock_changed(o, [{**LINE, "restock_expected": None}], None, NOW, "f2")
    view = backorder_view(o)
    assert view is not None and view.restock_expected is None
    assert view.lines[0].restock_expected is None
    [entry] = cleared.entries
    assert "not known any more" in describe(entry.kind, entry.details, "en")
    assert "暂无法确定" in describe(entry.kind, entry.details, "zh-CN")
    assert "目前無法確定" in describe(entry.kind, entry.details, "zh-TW")


def test_a_new_restock_date_after_the_backorder_is_settled_changes_nothing() -> None:
    o = order()
    backordered(o)
    backorder.dropped(o, [dict(LINE)], "customer", NOW)
    assert backorder.restock_changed(o, [dict(LINE)], date(2026, 12, 1), NOW, "f3").entries == []
    assert o.backorder is not None and o.backorder["restock_expected"] == RESTOCK.isoformat()
