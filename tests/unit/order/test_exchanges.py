"""An exchange on the order: each step joins the timeline once, keyed by the exchange, in
the three languages, and nothing else of the order changes (its stage, status, money)."""

from __future__ import annotations

from typing import Any

import pytest

from services.order import handlers
from services.order.domain import exchanges as ex
from services.order.domain.order import Order
from services.order.timeline import describe
from shared.contracts.events import logistics as lg
from shared.contracts.events import payment as pm
from shared.contracts.events import returns as rt
from tests.unit.order.test_domain import NOW, order, pay

UNITS = [{"line_id": "l1", "sku": "TEE", "quantity": 1}]
REPLACEMENT = {"sku": "TEE-L", "name": "Tee", "variant": "L", "quantity": 1}


def accepted(**changes: Any) -> dict[str, Any]:
    return {
        "amount": 1000,
        "currency": "CNY",
        "replacement": REPLACEMENT,
        "settlement": "charge",
        "ships": "on_return",
        "return_shipping_paid_by": "customer",
        "pay_by": None,
        **changes,
    }


def snapshot(o: Order) -> tuple[Any, ...]:
    return (o.stage, o.status, o.paid_amount, o.refunded_amount, o.payment_state, o.refunds)


def test_each_step_is_one_entry_keyed_by_the_exchange_and_the_order_stays_as_it_was() -> None:
    o = order()
    pay(o)
    before = snapshot(o)
    outcomes = [
        ex.with_lines(o, ex.REQUESTED, "exc_1", NOW, UNITS, {"replacement_sku": "TEE-L"}),
        ex.with_lines(o, ex.ACCEPTED, "exc_1", NOW, UNITS, accepted()),
        ex.step(ex.PAID, "exc_1", NOW, {"amount": 1000, "currency": "CNY"}),
        ex.with_lines(o, ex.RETURN_RECEIVED, "exc_1", NOW, UNITS, {}),
        ex.step(ex.SHIPPED, "exc_1", NOW, {"courier": "sf", "tracking_number": "SF1"}),
        ex.step(ex.DELIVERED, "exc_1", NOW, {"courier": "sf", "tracking_number": "SF1"}),
        ex.step(ex.REFUSED, "exc_2", NOW, {"reason": "out_of_stock"}),
        ex.step(ex.CANCELLED, "exc_3", NOW, {"reason": "unpaid"}),
    ]
    for outcome in outcomes:
        assert outcome.events == [] and outcome.timers == {}, "nothing published or planned"
        [entry] = outcome.entries
        assert entry.key == f"{entry.kind}:{entry.details['exchange_id']}"
    kinds = [outcome.entries[0].kind for outcome in outcomes]
    assert sorted(kinds) == sorted(ex.KINDS)
    assert snapshot(o) == before


def test_the_units_are_named_as_the_order_names_its_line() -> None:
    o = order()
    [unit] = ex.named(o, UNITS)
    assert (unit["name"], unit["variant"], unit["quantity"]) == ("Tee", "red", 1)
    [unknown] = ex.named(o, [{"line_id": "l9", "sku": "MUG", "quantity": 2}])
    assert (unknown["name"], unknown["variant"]) == ("MUG", None)


def said(kind: str, details: dict[str, Any], lang: str = "en") -> str:
    lines = ex.named(order(), UNITS)
    return describe(kind, {"exchange_id": "exc_1", "lines": lines, **details}, lang)


def test_an_accepted_exchange_says_what_to_send_back_the_postage_the_difference_and_when() -> None:
    text = said(ex.ACCEPTED, accepted())
    assert text.startswith("Exchange accepted: Tee (L) \u00d7 1 is set aside for you.")
    assert "Please send back Tee (red) \u00d7 1." in text
    assert "The return postage is yours." in text
    assert "You pay the difference of CN¥10.00; a payment link follows." in text
    assert text.endswith("once the difference is paid and your return is received.")
    refund = said(ex.ACCEPTED, accepted(settlement="refund", return_shipping_paid_by="shop"))
    assert "refunded once your return is received" in refund and "on us" in refund
    none = said(ex.ACCEPTED, accepted(settlement="none", amount=0, ships="at_once"))
    assert "difference" not in none and none.endswith("The replacement ships right away.")


@pytest.mark.parametrize(
    ("reason", "words"),
    [
        ("unknown_sku", "not in our catalogue"),
        ("not_same_product", "another product"),
        ("out_of_stock", "out of stock"),
        ("something_else", "The exchange cannot be made."),
    ],
)
def test_a_refusal_says_why_and_that_a_refund_can_be_asked(reason: str, words: str) -> None:
    text = said(ex.REFUSED, {"reason": reason, "message": "raw"})
    assert words in text and "you may ask for a refund instead" in text and "raw" not in text


SAID = {  # requested, accepted, paid, return received, shipped, cancelled unpaid
    "en": ("You asked to exchange Tee (red)", "Exchange accepted", "CN¥10.00 for your exchange",
           "sent back for your exchange", "SF Express", "not paid in time"),
    "zh-CN": ("您申请将 Tee (red)", "换货申请已通过", "换货差价 ¥10.00", "您为换货寄回的商品已到达",
              "顺丰速运", "差价未在期限内支付"),
    "zh-TW": ("您申請將 Tee (red)", "換貨申請已通過", "換貨差額 CN¥10.00",
              "您為換貨寄回的商品已送達", "順豐速運", "差額未在期限內付款"),
}  # fmt: skip


ARRIVED = {  # delivered, cancelled as the units never came back
    "en": ("delivered by SF Express", "not sent back in time"),
    "zh-CN": ("已由顺丰速运送达", "原商品未在期限内寄回"),
    "zh-TW": ("已由順豐速運送達", "原商品未在期限內寄回"),
}


@pytest.mark.parametrize("lang", SAID)
def test_every_step_is_said_in_the_three_languages(lang: str) -> None:
    requested, accepted_, paid, received, shipped, cancelled = SAID[lang]
    assert said(ex.REQUESTED, {"replacement_sku": "TEE-L"}, lang).startswith(requested)
    assert said(ex.ACCEPTED, accepted(), lang).startswith(accepted_)
    assert paid in said(ex.PAID, {"amount": 1000, "currency": "CNY"}, lang)
    assert received in said(ex.RETURN_RECEIVED, {}, lang)
    parcel = {"courier": "sf", "tracking_number": "SF1", "replacement": REPLACEMENT}
    assert shipped in said(ex.SHIPPED, parcel, lang) and "SF1" in said(ex.SHIPPED, parcel, lang)
    assert cancelled in said(ex.CANCELLED, {"reason": "unpaid"}, lang)
    delivered, not_returned = ARRIVED[lang]
    arrived = said(ex.DELIVERED, {"courier": "sf", "tracking_number": "SF1"}, lang)
    assert delivered in arrived and "SF1" in arrived
    assert not_returned in said(ex.CANCELLED, {"reason": "not_returned"}, lang)


def test_every_exchange_event_the_order_shows_is_routed() -> None:
    shown = {
        rt.ExchangeRequested,
        rt.ExchangeAccepted,
        rt.ExchangeRefused,
        pm.ExchangePaymentSucceeded,
        rt.ExchangeReturnReceived,
        lg.ExchangeShipped,
        lg.ExchangeDelivered,
        rt.ExchangeCancelled,
    }
    assert shown <= set(handlers.HANDLERS)
