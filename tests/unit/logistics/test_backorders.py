"""Backorder rules: what of a short order is held, how goods received are shared first
come, first served, and what ships once the short units are dropped."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

from services.logistics.domain.backorders import (
    Backorder,
    Short,
    latest_restock,
    may_backorder,
    restock_moved,
    serve,
    shipping_lines,
    split,
    told,
)
from services.logistics.domain.stock import Allocation, StockLevel

AT = datetime(2026, 12, 4, 9, tzinfo=UTC)


def _line(line_id: str, sku: str, quantity: int, discount: int | None = None) -> dict:
    line = {"line_id": line_id, "sku": sku, "name": sku.title(), "quantity": quantity,
            "unit_price": {"amount": 1_000, "currency": "CNY"}}  # fmt: skip
    if discount is not None:
        line["discount"] = {"amount": discount, "currency": "CNY"}
    return line


def _backorder(*lines: Short) -> Backorder:
    return Backorder("o1", "waiting", lines, AT, "ship_available", AT)


def test_a_short_order_holds_every_unit_there_is_and_names_what_is_short() -> None:
    levels = [StockLevel("mug", "main", 3, 2), StockLevel("tea", "main", 9, 0)]
    lines = [_line("l1", "mug", 1), _line("l2", "tea", 2), _line("l3", "mug", 2)]
    there, shorts = split(lines, levels)
    assert there == [Allocation("mug", "main", 1), Allocation("tea", "main", 2)]
    assert [(s.line_id, s.quantity, s.held) for s in shorts] == [("l3", 2, 0)]


def test_nothing_in_stock_holds_nothing() -> None:
    there, shorts = split([_line("l1", "mug", 2)], [StockLevel("mug", "main", 1, 1)])
    assert there == [] and [s.quantity for s in shorts] == [2]


def test_cash_on_delivery_never_waits() -> None:
    assert may_backorder("card", True)
    assert not may_backorder("cash_on_delivery", True)
    assert not may_backorder("card", False)


def test_goods_received_fill_the_oldest_line_first_and_never_more_than_is_short() -> None:
    b = _backorder(Short("l1", "mug", "Mug", None, 2, 0), Short("l2", "mug", "Mug", None, 1, 0))
    grown, allocations = serve(b, [StockLevel("mug", "main", 2, 0)])
    assert allocations == [Allocation("mug", "main", 2)]
    assert [(x.filled, x.missing) for x in grown.lines] == [(2, 0), (0, 1)]
    assert not grown.complete
    full, more = serve(grown, [StockLevel("mug", "main", 9, 2)])
    assert full.complete and more == [Allocation("mug", "main", 1)]
    assert serve(full, [StockLevel("mug", "main", 9, 3)]) == (full, [])


def test_dropped_units_leave_the_parcel_with_their_share_of_the_discount() -> None:
    b = _backorder(Short("l1", "mug", "Mug", None, 2, 1), Short("l2", "tea", "Tea", None, 1, 0))
    lines = [_line("l1", "mug", 3, discount=100), _line("l2", "tea", 1), _line("l3", "cup", 1)]
    ships = shipping_lines(lines, b)
    assert [(x["line_id"], x["quantity"]) for x in ships] == [("l1", 1), ("l3", 1)]
    # returns refunds the two dropped units 100 - 100 * 1 // 3 = 67 of the discount
    assert ships[0]["discount"]["amount"] == 33


def test_the_restock_date_told_is_known_only_when_every_short_sku_has_one() -> None:
    lines = [Short("l1", "mug", "Mug", None, 1, 0), Short("l2", "tea", "Tea", None, 1, 0)]
    dates = {"mug": date(2026, 12, 9), "tea": date(2026, 12, 7)}
    assert latest_restock(lines, dates) == date(2026, 12, 9)
    assert latest_restock(lines, {"mug": date(2026, 12, 9)}) is None
    assert [x.restock_expected for x in told(lines, dates)] == [dates["mug"], dates["tea"]]


def test_a_new_restock_date_is_told_to_the_orders_whose_latest_date_it_moves() -> None:
    mug_only = _backorder(Short("l1", "mug", "Mug", None, 2, 0))
    both = replace(
        _backorder(Short("l1", "mug", "Mug", None, 1, 0), Short("l2", "tea", "Tea", None, 1, 0)),
        order_id="o2",
    )
    filled_mug = replace(_backorder(Short("l1", "mug", "Mug", None, 1, 0, 1)), order_id="o3")
    dropped = replace(mug_only, order_id="o4", state="dropped")
    orders = [mug_only, both, filled_mug, dropped]
    before = {"mug": date(2026, 12, 9), "tea": date(2026, 12, 20)}
    later = {**before, "mug": date(2026, 12, 12)}
    moved = restock_moved(orders, "mug", before, later)
    assert [(o, e.restock_expected) for o, e in moved] == [("o1", date(2026, 12, 12))]
    [(_, told_o1)] = moved
    assert [(x.sku, x.quantity, x.restock_expected) for x in told_o1.lines] == [
        ("mug", 2, date(2026, 12, 12))
    ], "o2 still waits for the tea last; o3 has its mug; o4 waits no more"
    beyond = {**before, "mug": date(2026, 12, 24)}
    assert [o for o, _ in restock_moved(orders, "mug", before, beyond)] == ["o1", "o2"]
    assert restock_moved(orders, "mug", before, before) == [], "the same date tells nobody"
    cleared = restock_moved(orders, "mug", before, {"tea": before["tea"]})
    assert [(o, e.restock_expected) for o, e in cleared] == [("o1", None), ("o2", None)]
