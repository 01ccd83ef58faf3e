"""Price-difference refunds against the catalogue's price history: the difference to the
lower current price, never more than the line paid, by rule within the protection time;
once per drop, a further drop only by its extra, and units refunded afterwards less their
share of it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from services.returns.domain.eligibility import (
    Ask,
    backorder_refund,
    cancellation_refund,
    decide,
    returned_parcel_refund,
)
from services.returns.domain.price_difference import Price, split
from services.returns.domain.records import Holdings, Line, OrderView, Policy, Reason, Refused
from shared.contracts.events.common import LineQuantity

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
POLICY = Policy(
    return_window=timedelta(days=7),
    not_received_after=timedelta(days=5),
    price_protection=timedelta(days=7),
)
LINES = {"l1": Line("l1", "TEA", 2, 5_000, 400), "l2": Line("l2", "CUP", 1, 3_000)}


def paid(days_ago: float) -> OrderView:
    return OrderView(
        order_id="ord_1",
        currency="CNY",
        lines=LINES,
        paid=12_600,
        paid_at=NOW - timedelta(days=days_ago),
    )


def price(amount: int, days_ago: float) -> Price:
    return Price(amount, "CNY", NOW - timedelta(days=days_ago))


def test_a_drop_after_payment_within_the_time_is_refunded_by_rule() -> None:
    prices = {"TEA": price(4_200, 1)}
    decision = decide(paid(3), Ask(Reason.PRICE_DROPPED, None), Holdings(), POLICY, NOW, prices)
    assert decision.amount == 2 * 800
    assert decision.approve_as == "rule"
    assert [(ln.line_id, ln.quantity) for ln in decision.lines] == [("l1", 2), ("l2", 1)]


def test_a_drop_asked_after_the_protection_time_waits_for_operations() -> None:
    prices = {"TEA": price(4_200, 8)}
    decision = decide(paid(9), Ask(Reason.PRICE_DROPPED, None), Holdings(), POLICY, NOW, prices)
    assert decision.amount == 1_600 and decision.approve_as is None


def test_a_price_that_was_already_lower_before_the_payment_waits_for_operations() -> None:
    prices = {"TEA": price(4_200, 5)}
    decision = decide(paid(3), Ask(Reason.PRICE_DROPPED, None), Holdings(), POLICY, NOW, prices)
    assert decision.approve_as is None


def test_the_difference_never_exceeds_what_the_line_was_paid() -> None:
    prices = {"TEA": price(1, 1)}  # almost free now: the line paid 10000 - 400
    asked = Ask(Reason.PRICE_DROPPED, (("l1", 2),))
    decision = decide(paid(2), asked, Holdings(), POLICY, NOW, prices)
    assert decision.amount == 10_000 - 400


def test_no_lower_price_is_refused_naming_the_reason() -> None:
    prices = {"TEA": price(5_500, 1), "CUP": price(3_000, 1)}
    with pytest.raises(Refused) as refused:
        decide(paid(2), Ask(Reason.PRICE_DROPPED, None), Holdings(), POLICY, NOW, prices)
    assert (refused.value.code, refused.value.field) == ("no_lower_price", "reason")


def test_a_price_in_another_currency_is_not_compared() -> None:
    prices = {"TEA": Price(100, "HKD", NOW - timedelta(days=1))}
    with pytest.raises(Refused):
        decide(paid(2), Ask(Reason.PRICE_DROPPED, None), Holdings(), POLICY, NOW, prices)


# -- a difference is refunded once: what live requests took on a line is not owed again --

TOOK_FIRST_DROP = Holdings(committed=1_600, price_difference={"l1": 1_600})


def refusal(ask: Ask, held: Holdings, prices: dict[str, Price]) -> tuple[str, str | None]:
    with pytest.raises(Refused) as refused:
        decide(paid(2), ask, held, POLICY, NOW, prices)
    return refused.value.code, refused.value.field


def test_the_first_claim_records_what_each_line_takes() -> None:
    prices = {"TEA": price(4_200, 1)}
    decision = decide(paid(3), Ask(Reason.PRICE_DROPPED, None), Holdings(), POLICY, NOW, prices)
    assert decision.price_difference == {"l1": 1_600}


def test_a_second_claim_for_the_same_drop_owes_nothing() -> None:
    prices = {"TEA": price(4_200, 1)}
    asked = Ask(Reason.PRICE_DROPPED, None)
    assert refusal(asked, TOOK_FIRST_DROP, prices) == ("already_compensated", "reason")
    named = Ask(Reason.PRICE_DROPPED, (("l1", 2),))
    assert refusal(named, TOOK_FIRST_DROP, prices) == ("already_compensated", "reason")


def test_a_further_drop_owes_only_the_extra() -> None:
    prices = {"TEA": price(4_000, 0.5)}
    asked = Ask(Reason.PRICE_DROPPED, None)
    decision = decide(paid(2), asked, TOOK_FIRST_DROP, POLICY, NOW, prices)
    assert decision.amount == 2 * (5_000 - 4_000) - 1_600
    assert decision.price_difference == {"l1": 400}


def test_a_price_back_up_after_a_refunded_drop_is_no_lower_price() -> None:
    prices = {"TEA": price(5_000, 0.5)}
    asked = Ask(Reason.PRICE_DROPPED, None)
    assert refusal(asked, TOOK_FIRST_DROP, prices) == ("no_lower_price", "reason")


def test_claims_unit_by_unit_add_up_to_the_line_and_no_more() -> None:
    prices = {"TEA": price(4_200, 1)}
    one = Ask(Reason.PRICE_DROPPED, (("l1", 1),))
    first = decide(paid(2), one, Holdings(), POLICY, NOW, prices)
    took_one = Holdings(committed=800, price_difference={"l1": first.amount})
    second = decide(paid(2), one, took_one, POLICY, NOW, prices)
    assert (first.amount, second.amount) == (800, 800)
    took_both = Holdings(committed=1_600, price_difference={"l1": 1_600})
    assert refusal(one, took_both, prices) == ("already_compensated", "reason")


def test_only_the_units_still_held_are_owed_a_difference() -> None:
    prices = {"TEA": price(4_200, 1)}
    one_returned = Holdings(committed=4_800, used_quantity={"l1": 1})
    decision = decide(paid(2), Ask(Reason.PRICE_DROPPED, None), one_returned, POLICY, NOW, prices)
    assert decision.amount == 800
    assert [(ln.line_id, ln.quantity) for ln in decision.lines] == [("l1", 1), ("l2", 1)]
    both_named = Ask(Reason.PRICE_DROPPED, (("l1", 2),))
    assert refusal(both_named, one_returned, prices) == ("over_refund", "lines[0].quantity")


def test_the_difference_never_exceeds_what_is_left_of_the_line() -> None:
    prices = {"TEA": price(1, 0.5)}  # almost free now: the line paid 9600, 1600 came back
    decision = decide(
        paid(2), Ask(Reason.PRICE_DROPPED, None), TOOK_FIRST_DROP, POLICY, NOW, prices
    )
    assert decision.amount == 9_600 - 1_600


# -- an amount given by hand (operations) obeys the same ceiling per line ----------------


def test_an_amount_by_hand_is_capped_by_what_is_left_of_the_line() -> None:
    named = (("l1", 2),)
    over = Ask(Reason.PRICE_DROPPED, named, 9_600 - 1_600 + 1)
    assert refusal(over, TOOK_FIRST_DROP, {}) == ("over_refund", "amount")
    decision = decide(
        paid(2), Ask(Reason.PRICE_DROPPED, named, 8_000), TOOK_FIRST_DROP, POLICY, NOW, {}
    )
    assert (decision.amount, decision.price_difference) == (8_000, {"l1": 8_000})
    assert decision.approve_as is None  # by hand: operations decide


def test_an_amount_by_hand_for_the_whole_order_is_capped_by_its_lines() -> None:
    whole = Ask(Reason.PRICE_DROPPED, None, 9_600 + 3_000 + 1)
    assert refusal(whole, Holdings(), {}) == ("over_refund", "amount")


def test_an_amount_by_hand_within_the_reckoned_difference_goes_to_the_dropped_lines() -> None:
    prices = {"TEA": price(4_200, 1)}
    decision = decide(
        paid(2), Ask(Reason.PRICE_DROPPED, None, 1_000), Holdings(), POLICY, NOW, prices
    )
    assert decision.price_difference == {"l1": 1_000}


def test_an_amount_by_hand_beyond_the_reckoned_difference_is_shared_by_what_is_left() -> None:
    prices = {"TEA": price(4_200, 1)}
    decision = decide(
        paid(2), Ask(Reason.PRICE_DROPPED, None, 2_000), Holdings(), POLICY, NOW, prices
    )
    share = 2_000 * 9_600 // 12_600
    assert decision.price_difference == {"l1": share, "l2": 2_000 - share}


def test_shares_add_up_to_the_amount_and_stay_within_each_cap() -> None:
    caps = {"a": 1, "b": 1, "c": 1, "d": 7}
    for amount in range(1, sum(caps.values()) + 1):
        for reckoned in ({"a": 0, "b": 0, "c": 0, "d": 0}, {"a": 1, "b": 0, "c": 1, "d": 3}):
            parts = split(amount, caps, reckoned)
            assert sum(parts.values()) == amount
            assert all(0 <= parts[k] <= caps[k] for k in caps), (amount, reckoned, parts)


# -- units refunded after a price refund: their price less their share of the difference --


def delivered() -> OrderView:
    return replace(paid(2), delivered_at=NOW - timedelta(days=1))


def test_a_unit_returned_after_a_price_refund_comes_back_less_its_share() -> None:
    one = Ask(Reason.CHANGED_MIND, (("l1", 1),))
    first = decide(delivered(), one, TOOK_FIRST_DROP, POLICY, NOW)
    assert first.amount == 4_800 - 800  # paid 4800 after its share of the discount
    assert first.deducted == {"l1": 800}
    after_one = Holdings(
        committed=1_600 + 4_000,
        used_quantity={"l1": 1},
        price_difference={"l1": 1_600},
        price_difference_deducted={"l1": 800},
    )
    last = decide(delivered(), one, after_one, POLICY, NOW)
    assert (last.amount, last.deducted) == (4_000, {"l1": 800})
    assert 1_600 + first.amount + last.amount == 9_600  # the line, to the fen, no more


def test_a_further_drop_after_a_return_owes_only_the_units_kept_their_extra() -> None:
    after_one = Holdings(
        committed=1_600 + 4_000,
        used_quantity={"l1": 1},
        price_difference={"l1": 1_600},
        price_difference_deducted={"l1": 800},
    )
    prices = {"TEA": price(4_000, 0.5)}
    decision = decide(paid(2), Ask(Reason.PRICE_DROPPED, None), after_one, POLICY, NOW, prices)
    assert (decision.amount, decision.price_difference) == (1_000 - 800, {"l1": 200})


def test_the_whole_order_returned_after_a_price_refund_is_what_is_left() -> None:
    decision = decide(delivered(), Ask(Reason.DAMAGED, None), TOOK_FIRST_DROP, POLICY, NOW)
    assert decision.amount == 12_600 - 1_600  # postage stays: not the whole order any more
    assert decision.deducted == {"l1": 1_600}


def test_units_refunded_by_the_system_after_a_price_refund_come_back_less_their_share() -> None:
    parcel = returned_parcel_refund(paid(2), TOOK_FIRST_DROP)
    assert parcel is not None
    assert (parcel.amount, parcel.deducted) == (12_600 - 1_600, {"l1": 1_600})
    dropped = (LineQuantity(line_id="l1", sku="TEA", quantity=1),)
    short = backorder_refund(paid(2), TOOK_FIRST_DROP, dropped)
    assert short is not None and (short.amount, short.deducted) == (4_800 - 800, {"l1": 800})
    cancelled = cancellation_refund(paid(2), TOOK_FIRST_DROP, "customer_request")
    assert cancelled is not None and cancelled.amount == 12_600 - 1_600
    assert cancelled.deducted == {"l1": 1_600}
