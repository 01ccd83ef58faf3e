"""Postage, coupons and the discount shared across the lines, exact to the fen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.order.domain.fees import (
    Coupon,
    CouponRefused,
    CourierRefused,
    Postage,
    allocate,
    coupon_problem,
    courier_fee,
    discount_of,
    priced,
)

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def coupon(**changes: object) -> Coupon:
    values: dict[str, object] = {
        "code": "WELCOME20",
        "kind": "fixed",
        "value": 2_000,
        "currency": "CNY",
        "min_spend": 10_000,
        "valid_from": NOW - timedelta(days=1),
        "valid_until": NOW + timedelta(days=1),
        "usage_limit": None,
    }
    values.update(changes)
    return Coupon(**values)  # type: ignore[arg-type]


def test_the_discount_is_shared_by_largest_remainder_and_adds_up() -> None:
    # 2000 over 15800 and 3500: 1637.3 and 362.7, the fen left goes to the larger remainder
    assert allocate(2_000, [15_800, 3_500]) == [1_637, 363]
    assert allocate(100, [1, 1, 1]) == [34, 33, 33]


@given(
    st.integers(min_value=0, max_value=10_000_000),
    st.lists(st.integers(min_value=1, max_value=1_000_000), min_size=1, max_size=20),
)
def test_shares_always_add_up_to_the_discount_and_stay_within_each_line(
    total: int, weights: list[int]
) -> None:
    total = min(total, sum(weights))
    shares = allocate(total, weights)
    assert sum(shares) == total
    assert all(0 <= share <= weight for share, weight in zip(shares, weights, strict=True))


def test_postage_is_free_from_the_threshold_on_the_goods_after_the_discount() -> None:
    postage = Postage(fee=800, free_from=9_900)
    assert priced([9_900], None, postage).shipping_fee == 0
    with_coupon = priced([10_900], coupon(value=2_000, min_spend=0), postage)
    assert (with_coupon.discount, with_coupon.shipping_fee, with_coupon.total) == (
        2_000,
        800,
        9_700,
    )


def test_a_percentage_coupon_rounds_down_and_a_fixed_one_never_exceeds_the_goods() -> None:
    assert discount_of(coupon(kind="percent", value=15, currency=None), 9_999) == 1_499
    assert discount_of(coupon(value=50_000), 3_000) == 3_000


@pytest.mark.parametrize(
    ("changes", "goods", "code"),
    [
        ({"valid_until": NOW}, 20_000, "coupon_expired"),
        ({"expired_at": NOW - timedelta(seconds=1)}, 20_000, "coupon_expired"),
        ({"valid_from": NOW + timedelta(hours=1)}, 20_000, "coupon_not_yet_valid"),
        ({}, 9_999, "coupon_below_minimum_spend"),
        ({"currency": "HKD"}, 20_000, "coupon_currency"),
        ({"usage_limit": 3, "used": 3}, 20_000, "coupon_used_up"),
    ],
)
def test_a_coupon_that_does_not_apply_is_refused_with_why(
    changes: dict[str, object], goods: int, code: str
) -> None:
    with pytest.raises(CouponRefused) as refused:
        coupon_problem(coupon(**changes), goods, "CNY", NOW)
    assert refused.value.code == code


def test_an_unknown_coupon_is_refused_and_a_valid_one_passes() -> None:
    with pytest.raises(CouponRefused) as refused:
        coupon_problem(None, 20_000, "CNY", NOW)
    assert refused.value.code == "coupon_unknown"
    coupon_problem(coupon(usage_limit=3, used=2), 10_000, "CNY", NOW)


def test_the_returns_example_is_how_the_order_shares_its_discount() -> None:
    assert allocate(1_000, [3 * 3_333, 5_001]) == [667, 333]


def test_a_chosen_courier_adds_its_surcharge_to_the_postage() -> None:
    offered = {"sf": 1_500}
    fee = courier_fee("sf", offered)
    money = priced([9_800], None, Postage(fee=800), fee)
    assert (money.shipping_fee, money.courier_fee, money.total) == (2_300, 1_500, 12_100)


def test_free_shipping_waives_the_postage_but_not_the_couriers_surcharge() -> None:
    money = priced(
        [20_000], None, Postage(fee=800, free_from=20_000), courier_fee("sf", {"sf": 1_500})
    )
    assert (money.shipping_fee, money.courier_fee, money.total) == (1_500, 1_500, 21_500)


def test_without_a_choice_nothing_is_added() -> None:
    assert courier_fee(None, {"sf": 1_500}) == 0
    assert priced([9_800], None, Postage(fee=800)).courier_fee == 0


def test_a_courier_the_shop_does_not_offer_is_refused_with_what_it_offers() -> None:
    with pytest.raises(CourierRefused, match=r"'jd' is not offered \(offered: sf\)"):
        courier_fee("jd", {"sf": 1_500})
    with pytest.raises(CourierRefused, match="none: the shop chooses"):
        courier_fee("sf", {})
