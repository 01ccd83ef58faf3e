"""Stock allocation, the low-stock crossing, parcel tracking and the courier choice."""

from __future__ import annotations

import pytest

from services.logistics.domain.shipping import CheckpointStatus, ParcelStatus, choose_courier, track
from services.logistics.domain.stock import (
    Allocation,
    Holding,
    Shortfall,
    StockLevel,
    Withdrawal,
    allocate,
    low_stock_change,
    recount,
    wanted_per_sku,
)


def level(sku: str, warehouse: str, on_hand: int, reserved: int = 0) -> StockLevel:
    return StockLevel(sku, warehouse, on_hand, reserved)


def test_an_order_is_served_whole_from_the_fullest_warehouse() -> None:
    allocations, short = allocate(
        {"A": 3, "B": 1}, [level("A", "east", 5, 4), level("A", "main", 5), level("B", "main", 1)]
    )
    assert short == []
    assert allocations == [Allocation("A", "main", 3), Allocation("B", "main", 1)]


def test_a_sku_is_split_over_warehouses_when_none_holds_enough() -> None:
    allocations, short = allocate({"A": 6}, [level("A", "east", 4), level("A", "main", 3)])
    assert short == []
    assert allocations == [Allocation("A", "east", 4), Allocation("A", "main", 2)]


def test_one_short_line_reserves_nothing_and_names_what_is_missing() -> None:
    allocations, short = allocate(
        {"A": 1, "B": 3, "C": 1}, [level("A", "main", 9), level("B", "main", 5, 3)]
    )
    assert allocations == []
    assert short == [Shortfall("B", 3, 2), Shortfall("C", 1, 0)]


def test_the_same_sku_on_two_lines_counts_once_in_total() -> None:
    assert wanted_per_sku([("A", 2), ("B", 1), ("A", 3)]) == {"A": 5, "B": 1}


@pytest.mark.parametrize(
    ("available", "threshold", "warned", "change"),
    [
        (4, 5, False, "warn"),  # falls under: warn once
        (3, 5, True, None),  # still under: no second warning
        (5, 5, True, "clear"),  # back at the threshold: ready to warn again
        (9, 5, False, None),
        (0, 0, False, None),  # no threshold, no warning
    ],
)
def test_low_stock_is_told_once_per_downward_crossing(
    available: int, threshold: int, warned: bool, change: str | None
) -> None:
    assert low_stock_change(available, threshold, warned) == change


def test_checkpoints_move_a_parcel_forward_and_announce_each_step() -> None:
    status = ParcelStatus.SHIPPED
    seen = []
    for cp in ("in_transit", "in_transit", "out_for_delivery", "delivered"):
        outcome = track(status, CheckpointStatus(cp))
        status = outcome.status
        seen.append((status.value, outcome.announce))
    assert seen == [
        ("in_transit", "checkpoint"),
        ("in_transit", "checkpoint"),
        ("out_for_delivery", "out_for_delivery"),
        ("delivered", "delivered"),
    ]


def test_a_delivered_parcel_never_goes_back_and_is_not_delivered_twice() -> None:
    late = track(ParcelStatus.DELIVERED, CheckpointStatus.IN_TRANSIT)
    assert late.status is ParcelStatus.DELIVERED and late.announce == "checkpoint"
    again = track(ParcelStatus.DELIVERED, CheckpointStatus.DELIVERED)
    assert again.status is ParcelStatus.DELIVERED and again.announce is None


def test_an_earlier_step_arriving_late_joins_the_timeline_without_moving_back() -> None:
    outcome = track(ParcelStatus.OUT_FOR_DELIVERY, CheckpointStatus.IN_TRANSIT)
    assert outcome.status is ParcelStatus.OUT_FOR_DELIVERY
    assert outcome.announce == "checkpoint"


def test_an_exception_is_told_but_keeps_the_status() -> None:
    outcome = track(ParcelStatus.IN_TRANSIT, CheckpointStatus.EXCEPTION)
    assert (outcome.status, outcome.announce) == (ParcelStatus.IN_TRANSIT, "checkpoint")


def test_a_parcel_not_shipped_takes_no_checkpoint() -> None:
    with pytest.raises(ValueError, match="no checkpoints"):
        track(ParcelStatus.CANCELLED, CheckpointStatus.IN_TRANSIT)


def test_the_region_rule_wins_and_the_rotation_serves_the_rest() -> None:
    rules = {"Guangdong": "sf"}
    couriers = ["zto", "yto"]
    assert choose_courier("guangdong", couriers, rules, 7) == "sf"
    assert [choose_courier("Zhejiang", couriers, rules, turn) for turn in (1, 2, 3)] == [
        "yto",
        "zto",
        "yto",
    ]
    assert choose_courier(None, couriers, rules, 0) == "zto"


def test_a_short_recount_withdraws_the_newest_orders_that_no_longer_fit() -> None:
    oldest_first = [Holding("a", 2), Holding("b", 2), Holding("c", 2)]
    assert recount(4, oldest_first) == [Withdrawal(Holding("c", 2), 0)]
    assert recount(6, oldest_first) == []
    assert recount(1, oldest_first) == [
        Withdrawal(Holding("a", 2), 1),
        Withdrawal(Holding("b", 2), 1),
        Withdrawal(Holding("c", 2), 1),
    ]


def test_an_older_order_goes_only_when_it_cannot_be_served_even_alone() -> None:
    assert recount(4, [Holding("old", 5), Holding("new", 1)]) == [Withdrawal(Holding("old", 5), 4)]
