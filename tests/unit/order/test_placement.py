"""Placing rules: limits, contact formats, time zones, and what the customer reads."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.order.domain.placing import (
    Item,
    Limits,
    limit_problems,
    new_order_id,
    normalise_phone,
    valid_email,
    valid_time_zone,
)
from services.order.settings import OrderSettings
from services.order.timeline import describe, money_text
from shared import cursors
from shared.problems import Unprocessable

LIMITS = Limits()


def item(quantity: int = 1, price: int = 100) -> Item:
    return Item("SKU", "Name", None, quantity, price)


def test_order_ids_are_prefixed_random_hex() -> None:
    ids = {new_order_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(i.startswith("ord_") and len(i) == 28 for i in ids)


@pytest.mark.parametrize(
    ("items", "gift", "fields"),
    [
        ([], None, ["items"]),
        ([item(0)], None, ["items[0].quantity"]),
        ([item(100)], None, ["items[0].quantity"]),
        ([item(1, 0)], None, ["items[0].unit_price"]),
        ([item(1, 10_000_001)], None, ["items[0].unit_price"]),
        ([item(99, 10_000_000)] * 2, None, ["items"]),
        ([item()] * 51, None, ["items"]),
        ([item()], "x" * 201, ["gift_message"]),
        ([item(99, 10_000)] * 50, "x" * 200, []),
    ],
)
def test_limits_name_the_field(items: list[Item], gift: str | None, fields: list[str]) -> None:
    assert [field for field, _ in limit_problems(items, gift, LIMITS)] == fields


@given(
    st.lists(
        st.builds(item, st.integers(-(10**12), 10**12), st.integers(-(10**12), 10**12)),
        max_size=60,
    )
)
def test_any_order_within_limits_has_a_total_within_limits(items: list[Item]) -> None:
    if not limit_problems(items, None, LIMITS):
        assert 0 < sum(i.quantity * i.unit_price for i in items) <= LIMITS.max_order_total
        assert all(1 <= i.quantity <= 99 for i in items)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+86 138-0013-8000", "+8613800138000"),
        ("+852 9123 4567", "+85291234567"),
        ("13800138000", None),
        ("+12345", None),
        ("+1234567890123456", None),
        ("+86 138 abc", None),
    ],
)
def test_phone_numbers(raw: str, expected: str | None) -> None:
    assert normalise_phone(raw) == expected


@pytest.mark.parametrize(
    ("email", "ok"),
    [
        ("li.wei@example.com", True),
        ("a+tag@mail.example.cn", True),
        ("no-at.example.com", False),
        ("two@@example.com", False),
        ("dot.@example.com", False),
        ("x@localhost", False),
        ("x@-bad.com", False),
        ("x@example.c0m", False),
        ("x" * 65 + "@example.com", False),
    ],
)
def test_email_addresses(email: str, ok: bool) -> None:
    assert valid_email(email) is ok


def test_time_zones_are_iana_names() -> None:
    assert valid_time_zone("Asia/Shanghai") and valid_time_zone("UTC")
    assert not valid_time_zone("Mars/Olympus") and not valid_time_zone("../etc/passwd")


def test_timeline_sentences_are_specific() -> None:
    shipped = describe("shipped", {"courier": "SF Express", "tracking_number": "SF123"})
    assert shipped == "Seller has shipped your order with SF Express, tracking number SF123."
    assert describe("paid", {"amount": 12_800, "currency": "CNY", "method": "card"}) == (
        "Buyer has paid CN¥128.00."
    )
    assert money_text(1_500, "JPY") == "¥1,500"
    assert describe("cancelled", {"reason": "stock_shortage"}).startswith("Order cancelled (sorry")
    assert describe("shipped", {}) == "Shipped."  # details missing: still a sentence
    assert describe("something_new", {}) == "Something new"


def test_a_cursor_that_is_not_ours_is_refused() -> None:
    for text in ("nonsense", "", cursors.cursor(datetime(2026, 1, 1), "o-1")):  # naive time
        with pytest.raises(Unprocessable) as refused:
            cursors.after(text)
        assert refused.value.details["field"] == "cursor"
    at = datetime(2026, 1, 1, tzinfo=UTC)
    assert cursors.after(cursors.cursor(at, "o-1")) == (at, "o-1")


def test_the_limits_are_the_settings_of_the_same_names() -> None:
    settings = OrderSettings(max_order_total=500, max_gift_message=10, max_lines=2)
    assert settings.limits == Limits(max_lines=2, max_order_total=500, max_gift_message=10)
    token, url = settings.order_link("ord_1")
    assert url.endswith(f"/v1/orders/ord_1?access_token={token}")
