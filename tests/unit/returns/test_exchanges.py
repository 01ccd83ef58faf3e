"""The exchange rules: who may exchange what, the difference to the fen, when the
replacement ships, and how an exchange moves on from one fact to the next."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from services.returns.domain import exchange_transitions as moves
from services.returns.domain.exchanges import (
    LIVE_EXCHANGES,
    OPEN_EXCHANGES,
    Exchange,
    ExchangeAsk,
    decide_exchange,
    difference_refund,
    returned_units_refund,
)
from services.returns.domain.records import (
    Holdings,
    Line,
    OrderView,
    Policy,
    Reason,
    Refused,
)
from shared.contracts.envelope import Money
from shared.contracts.events.common import ExchangeItem
from shared.contracts.events.logistics import (
    ExchangeDelivered,
    ExchangeReserved,
    ExchangeShipped,
    ExchangeUnavailable,
)
from shared.contracts.events.payment import ExchangePaymentSucceeded
from shared.contracts.events.returns import RefundFlow

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
POLICY = Policy(return_window=timedelta(days=7), not_received_after=timedelta(days=5))
LINES = {
    "l1": Line("l1", "TEE-M", 3, 5_000, discount=1_000),  # 4667 + 4667 + 4666
    "l2": Line("l2", "CUP-W", 1, 3_000),
}
SHIRT_L = ExchangeAsk("l1", 1, "TEE-L", Reason.CHANGED_MIND)


def delivered(days_ago: float = 1, **facts: object) -> OrderView:
    at = NOW - timedelta(days=days_ago)
    values: dict[str, object] = {
        "order_id": "ord_1",
        "currency": "CNY",
        "lines": LINES,
        "paid": 17_000,
        "shipped_at": at - timedelta(days=2),
        "delivered_at": at,
    }
    values.update(facts)
    return OrderView(**values)  # type: ignore[arg-type]


def refusal(order: OrderView | None, ask: ExchangeAsk, held: Holdings | None = None) -> Refused:
    with pytest.raises(Refused) as caught:
        decide_exchange(order, ask, held or Holdings(), POLICY, NOW)
    return caught.value


def exchange(ask: ExchangeAsk = SHIRT_L, held: Holdings | None = None) -> Exchange:
    decision = decide_exchange(delivered(), ask, held or Holdings(), POLICY, NOW)
    return moves.new_exchange("ex_1", "ord_1", decision, actor="customer", at=NOW)


def item(price: int, quantity: int = 1, currency: str = "CNY") -> ExchangeItem:
    return ExchangeItem(
        sku="TEE-L",
        name="Tee",
        variant="L",
        quantity=quantity,
        unit_price=Money(amount=price, currency=currency),
    )


def reserve(x: Exchange, price: int, policy: Policy = POLICY) -> moves.ExchangeOutcome:
    event = ExchangeReserved(exchange_id=x.id, replacement=item(price), warehouse="sh-1")
    return moves.reserved(x, NOW, event=event, policy=policy)


def paid(x: Exchange, amount: int) -> moves.ExchangeOutcome:
    event = ExchangePaymentSucceeded(
        exchange_id=x.id,
        attempt_id="att_1",
        amount=Money(amount=amount, currency="CNY"),
        provider="sandbox",
        provider_reference="ref",
        paid_at=NOW,
    )
    return moves.payment_succeeded(x, NOW, event=event)


def types(outcome: moves.ExchangeOutcome) -> list[str]:
    return [event.TYPE for event in outcome.events]


# -- what a new exchange gets -------------------------------------------------------------


def test_the_units_returned_are_valued_as_paid_after_their_share_of_the_discount() -> None:
    first = exchange()
    assert (first.returned_value, first.return_shipping_paid_by) == (4_667, "customer")
    two_taken = exchange(held=Holdings(used_quantity={"l1": 2}))
    assert two_taken.returned_value == 4_666  # the three units add up to the line exactly


@pytest.mark.parametrize(
    ("price", "diff", "settlement"),
    [(5_000, 333, "charge"), (4_667, 0, "none"), (4_000, -667, "refund")],
)
def test_the_difference_is_the_replacement_less_what_was_paid_to_the_fen(
    price: int, diff: int, settlement: str
) -> None:
    accepted = reserve(exchange(), price)
    x = accepted.exchange
    assert (x.status, x.difference, x.settlement) == ("accepted", diff, settlement)
    event = accepted.events[0]
    assert event.TYPE == "ExchangeAccepted"
    assert event.difference == Money(amount=abs(diff), currency="CNY")  # type: ignore[attr-defined]
    assert (x.pay_by is not None) == (settlement == "charge")
    pays = {moves.PAY_TIMER: NOW + POLICY.exchange_pay} if diff > 0 else {}
    assert accepted.timers == {moves.RETURN_TIMER: NOW + POLICY.exchange_return, **pays}


def test_outside_the_window_only_a_quality_problem_is_exchanged() -> None:
    late = delivered(days_ago=8)
    closed = refusal(late, SHIRT_L)
    assert (closed.kind, closed.code, closed.field) == (
        "unprocessable",
        "return_window_closed",
        "reason",
    )
    damaged = replace(SHIRT_L, reason=Reason.DAMAGED)
    decision = decide_exchange(late, damaged, Holdings(), POLICY, NOW)
    assert decision.return_shipping_paid_by == "shop"


@pytest.mark.parametrize(
    ("order", "ask", "held", "kind", "code", "where"),
    [
        (None, SHIRT_L, None, "not_found", "order_unknown", None),
        (delivered(paid=0), SHIRT_L, None, "conflict", "order_not_paid", "unpaid"),
        (delivered(ended="closed"), SHIRT_L, None, "conflict", "order_closed", "closed"),
        (delivered(delivered_at=None), SHIRT_L, None, "conflict", "not_delivered", "shipped"),
        (delivered(), replace(SHIRT_L, line_id="l9"), None, "unprocessable", "unknown_line",
         "line_id"),
        (delivered(), replace(SHIRT_L, replacement_sku="TEE-M"), None, "unprocessable",
         "same_variant", "replacement_sku"),
        (delivered(), replace(SHIRT_L, quantity=4), None, "unprocessable", "over_quantity",
         "quantity"),
        (delivered(), replace(SHIRT_L, quantity=2), Holdings(used_quantity={"l1": 2}),
         "unprocessable", "over_quantity", "quantity"),
        (delivered(), SHIRT_L, Holdings(open_lines=frozenset({"l1"})), "conflict",
         "line_has_open_request", "open"),
        (delivered(), replace(SHIRT_L, reason=Reason.NOT_RECEIVED), None, "unprocessable",
         "reason_not_for_exchange", "reason"),
    ],
)  # fmt: skip
def test_every_refusal_says_why_and_names_the_field_or_state(
    order: OrderView | None,
    ask: ExchangeAsk,
    held: Holdings | None,
    kind: str,
    code: str,
    where: str | None,
) -> None:
    refused = refusal(order, ask, held)
    assert (refused.kind, refused.code) == (kind, code)
    assert (refused.field if kind == "unprocessable" else refused.state) == where


# -- when the replacement leaves ------------------------------------------------------------


def test_a_same_price_exchange_is_released_once_the_units_are_back() -> None:
    accepted = reserve(exchange(), 4_667).exchange
    received = moves.receive_return(accepted, NOW, actor="operations")
    assert types(received) == ["ExchangeReturnReceived", "ExchangeReleased"]
    assert received.refund is None and received.exchange.status == "released"
    with pytest.raises(Refused) as twice:
        moves.receive_return(received.exchange, NOW, actor="operations")
    assert twice.value.code == "wrong_state"


def test_a_quality_problem_ships_at_once_unless_the_shop_waits_for_the_return() -> None:
    damaged = exchange(replace(SHIRT_L, reason=Reason.DAMAGED))
    at_once = reserve(damaged, 4_667)
    assert types(at_once) == ["ExchangeAccepted", "ExchangeReleased"]
    assert at_once.events[0].ships == "at_once"  # type: ignore[attr-defined]
    waits = reserve(damaged, 4_667, replace(POLICY, exchange_quality_ships_at_once=False))
    assert types(waits) == ["ExchangeAccepted"] and waits.exchange.ships == "on_return"
    no_reason = reserve(exchange(), 4_667)
    assert no_reason.exchange.ships == "on_return"


def test_a_dearer_replacement_waits_for_its_payment_then_for_the_units() -> None:
    accepted = reserve(exchange(), 5_000).exchange
    received = moves.receive_return(accepted, NOW, actor="operations")
    assert types(received) == ["ExchangeReturnReceived"]
    settled = paid(received.exchange, 333)
    assert types(settled) == ["ExchangeReleased"]
    assert settled.captured == 333 and settled.timers == {moves.PAY_TIMER: None}
    again = paid(settled.exchange, 333)
    assert again.events == [] and again.captured == 0


def test_an_unpaid_exchange_is_cancelled_at_its_deadline_and_a_late_payment_is_not_counted() -> (
    None
):
    accepted = reserve(exchange(), 5_000).exchange
    cancelled = moves.pay_due(accepted, NOW)
    assert types(cancelled) == ["ExchangeCancelled"]
    assert cancelled.events[0].reason == "unpaid"  # type: ignore[attr-defined]
    assert cancelled.refund is None
    late = paid(cancelled.exchange, 333)
    assert late.events == [] and late.captured == 0
    assert moves.pay_due(cancelled.exchange, NOW).events == []
    assert moves.pay_due(paid(accepted, 333).exchange, NOW).events == []


def test_units_received_for_an_exchange_cancelled_unpaid_are_refunded() -> None:
    accepted = reserve(exchange(), 5_000).exchange
    received = moves.receive_return(accepted, NOW, actor="operations").exchange
    cancelled = moves.pay_due(received, NOW)
    assert cancelled.refund == "returned_units"
    decision = returned_units_refund(delivered(), Holdings(), cancelled.exchange)
    assert decision is not None
    assert (decision.amount, decision.reason, decision.approve_as) == (
        4_667,
        "exchange_cancelled",
        "system",
    )
    assert [(ln.line_id, ln.quantity) for ln in decision.lines] == [("l1", 1)]


def test_a_cheaper_replacement_is_refunded_its_difference_once_the_units_are_back() -> None:
    accepted = reserve(exchange(), 4_000).exchange
    assert moves.report_return(accepted, NOW, actor="customer", courier="sf",
                               tracking_number="SF1").refund is None  # fmt: skip
    received = moves.receive_return(accepted, NOW, actor="operations")
    assert received.refund == "difference"
    decision = difference_refund(delivered(), Holdings(), received.exchange)
    assert decision is not None
    assert (decision.flow, decision.reason, decision.lines, decision.amount) == (
        RefundFlow.NO_RETURN,
        "exchange_difference",
        (),
        667,
    )
    assert decision.approve_as == "system"
    nearly_all_refunded = Holdings(committed=17_000 - 100)
    capped = difference_refund(delivered(), nearly_all_refunded, received.exchange)
    assert capped is not None and capped.amount == 100
    assert difference_refund(delivered(), Holdings(committed=17_000), received.exchange) is None


# -- facts that do not apply change nothing ---------------------------------------------


def test_duplicates_and_late_answers_change_nothing() -> None:
    x = exchange()
    accepted = reserve(x, 4_667).exchange
    assert reserve(accepted, 4_000).events == []
    unavailable = ExchangeUnavailable(exchange_id=x.id, reason="out_of_stock", message="none")
    assert moves.unavailable(accepted, NOW, event=unavailable).events == []
    refused = moves.unavailable(x, NOW, event=unavailable)
    assert types(refused) == ["ExchangeRefused"] and refused.exchange.status == "refused"
    assert reserve(refused.exchange, 4_667).events == []
    with pytest.raises(Refused):
        moves.receive_return(refused.exchange, NOW, actor="operations")
    with pytest.raises(Refused) as early:
        moves.report_return(x, NOW, actor="customer", courier="sf", tracking_number="SF1")
    assert early.value.state == "requested"


def test_a_replacement_priced_in_another_currency_cancels_the_exchange() -> None:
    event = ExchangeReserved(
        exchange_id="ex_1", replacement=item(700, currency="USD"), warehouse="sh-1"
    )
    outcome = moves.reserved(exchange(), NOW, event=event, policy=POLICY)
    assert types(outcome) == ["ExchangeCancelled"] and outcome.exchange.status == "cancelled"


def test_the_return_report_is_kept_once_and_the_shipment_ends_the_exchange() -> None:
    released = reserve(exchange(replace(SHIRT_L, reason=Reason.DAMAGED)), 4_667).exchange
    report = moves.report_return(
        released, NOW, actor="customer", courier="sf", tracking_number="SF1"
    )
    assert types(report) == ["ExchangeReturnShipped"]
    same = moves.report_return(
        report.exchange, NOW, actor="customer", courier="sf", tracking_number="SF1"
    )
    assert same.events == [] and same.audits == []
    with pytest.raises(Refused):
        moves.report_return(
            report.exchange, NOW, actor="customer", courier="sf", tracking_number="SF2"
        )
    shipped = ExchangeShipped(
        exchange_id="ex_1",
        shipment_id="shp_1",
        courier="sf",
        tracking_number="SF9",
        replacement=item(4_667),
        address={"recipient": "Li", "line1": "1 Rd", "city": "Shanghai", "country": "CN"},  # type: ignore[arg-type]
        shipped_at=NOW,
    )
    done = moves.shipped(report.exchange, NOW, event=shipped)
    assert done.exchange.status == "shipped" and done.exchange.shipment is not None
    assert moves.shipped(done.exchange, NOW, event=shipped).audits == []


def _shipped(x: Exchange) -> Exchange:
    shipped = ExchangeShipped(
        exchange_id=x.id,
        shipment_id="shp_1",
        courier="sf",
        tracking_number="SF9",
        replacement=item(4_667),
        address={"recipient": "Li", "line1": "1 Rd", "city": "Shanghai", "country": "CN"},  # type: ignore[arg-type]
        shipped_at=NOW,
    )
    return moves.shipped(x, NOW, event=shipped).exchange


ARRIVED = ExchangeDelivered(
    exchange_id="ex_1",
    shipment_id="shp_1",
    courier="sf",
    tracking_number="SF9",
    delivered_at=NOW - timedelta(hours=2),
)


def test_the_replacement_delivered_ends_a_shipped_exchange_once() -> None:
    released = reserve(exchange(replace(SHIRT_L, reason=Reason.DAMAGED)), 4_667).exchange
    done = moves.delivered(_shipped(released), NOW, event=ARRIVED)
    assert done.exchange.status == "delivered" and done.events == [] and done.timers == {}
    assert done.exchange.delivered_at == ARRIVED.delivered_at and done.exchange.updated_at == NOW
    [step] = done.audits
    assert (step.actor, step.action) == ("system", "delivered")
    assert step.details["shipment_id"] == "shp_1"
    again = moves.delivered(done.exchange, NOW, event=ARRIVED)
    assert again.exchange == done.exchange and again.audits == [], "told twice: once"
    early = moves.delivered(released, NOW, event=ARRIVED)  # before its ExchangeShipped
    assert early.exchange == released and early.audits == []


def test_a_delivered_exchange_still_takes_its_units_and_awaits_them_back() -> None:
    assert "delivered" in LIVE_EXCHANGES and "delivered" not in OPEN_EXCHANGES
    released = reserve(exchange(replace(SHIRT_L, reason=Reason.DAMAGED)), 4_667).exchange
    done = moves.delivered(_shipped(released), NOW, event=ARRIVED).exchange
    assert moves.return_due(done, NOW).events == [], "nothing left to cancel"
    received = moves.receive_return(done, NOW, actor="operations")
    assert types(received) == ["ExchangeReturnReceived"]
    assert received.exchange.status == "delivered" and received.exchange.return_received_at


def test_units_never_sent_back_cancel_the_exchange_at_its_return_deadline() -> None:
    accepted = reserve(exchange(), 4_667)
    assert accepted.timers == {moves.RETURN_TIMER: NOW + POLICY.exchange_return}
    assert accepted.events[0].return_by == NOW + POLICY.exchange_return  # type: ignore[attr-defined]
    cancelled = moves.return_due(accepted.exchange, NOW)
    assert types(cancelled) == ["ExchangeCancelled"]
    assert cancelled.events[0].reason == "not_returned"  # type: ignore[attr-defined]
    assert cancelled.exchange.status == "cancelled" and cancelled.refund is None
    assert cancelled.timers == {moves.PAY_TIMER: None, moves.RETURN_TIMER: None}
    assert moves.return_due(cancelled.exchange, NOW).events == [], "once"


def test_a_return_on_its_way_or_received_stops_the_return_deadline() -> None:
    accepted = reserve(exchange(), 5_000).exchange  # dearer: not released before it is paid
    sent = moves.report_return(accepted, NOW, actor="customer", courier="sf", tracking_number="SF1")
    assert sent.timers == {moves.RETURN_TIMER: None}
    assert moves.return_due(sent.exchange, NOW).events == []
    received = moves.receive_return(accepted, NOW, actor="operations")
    assert received.timers == {moves.RETURN_TIMER: None}
    assert moves.return_due(received.exchange, NOW).events == []
    damaged = reserve(exchange(replace(SHIRT_L, reason=Reason.DAMAGED)), 4_667).exchange
    assert damaged.status == "released", "sent at once for a quality problem"
    assert moves.return_due(damaged, NOW).events == [], "nothing left to cancel"


def test_units_that_had_a_price_difference_refunded_are_worth_that_much_less() -> None:
    # 1,500 of price difference refunded on the three shirts: the one exchanged takes 500
    held = Holdings(committed=1_500, price_difference={"l1": 1_500})
    decision = decide_exchange(delivered(), SHIRT_L, held, POLICY, NOW)
    assert (decision.returned_value, decision.price_difference_deducted) == (4_667 - 500, 500)
    x = moves.new_exchange("ex_9", "ord_1", decision, actor="customer", at=NOW)
    assert x.price_difference_deducted == 500
    same_price = reserve(x, 4_667)
    assert same_price.exchange.difference == 500, "the 500 came back already: it is charged"
    cancelled = replace(same_price.exchange, status="cancelled")
    refund = returned_units_refund(delivered(), held, cancelled)
    assert refund is not None and refund.amount == 4_167
    assert refund.deducted == {"l1": 500}, "the share leaves with the units refunded"
