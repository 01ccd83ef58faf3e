"""Pay-for-me links: signed per order under a purpose of their own, and where one leads."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from services.payment.domain import Attempt, AttemptStatus
from services.payment.domain.pay_links import landing, link_token, pay_link, token_order
from shared.contracts.events.common import PaymentMethod
from shared.tokens import order_token
from tests.unit.payment.states import NOW, open_card_payment

SECRET = "s3cr3t-for-links-xxxxxxxx"


def attempt(status: AttemptStatus, method: PaymentMethod = PaymentMethod.PAY_FOR_ME) -> Attempt:
    return Attempt(
        "pat_1", "ord_1", 1, method, "stripe", "cs_1", "https://checkout.stripe.com/c/pay/cs_1",
        None, status, None, NOW,
    )  # fmt: skip


def test_a_link_is_short_signed_and_opens_only_its_order() -> None:
    token = link_token(SECRET, "ord_1")
    assert token_order(SECRET, token) == "ord_1"
    assert pay_link("https://pay.shop.example/", SECRET, "ord_1") == (
        f"https://pay.shop.example/v1/pay/{token}"
    )
    assert len(token) == len("ord_1.") + 16
    assert token_order(SECRET, token.replace("ord_1", "ord_2")) is None
    assert token_order("another-secret-xxxxxxxxxx", token) is None
    assert token_order(SECRET, "ord_1") is None and token_order(SECRET, ".x") is None
    assert token.split(".")[1] not in order_token(SECRET, "ord_1"), "not the access token"


def test_a_link_leads_to_the_live_session_or_opens_the_next_once_it_ended() -> None:
    payment = replace(open_card_payment(timedelta(hours=1)), method=PaymentMethod.PAY_FOR_ME)
    live = attempt(AttemptStatus.OPEN)
    assert landing(payment, live, NOW).attempt == live
    assert landing(payment, attempt(AttemptStatus.PENDING), NOW).attempt is not None
    for ended in (AttemptStatus.FAILED, AttemptStatus.EXPIRED):
        assert landing(payment, attempt(ended), NOW).reopen_after == "pat_1"
    late = NOW + timedelta(hours=2)
    assert landing(payment, attempt(AttemptStatus.FAILED), late).refusal == "payment_window_over"
    paid = replace(payment, paid_attempt_id="pat_1")
    assert landing(paid, live, NOW).refusal == "already_paid"
    card = attempt(AttemptStatus.OPEN, PaymentMethod.CARD)
    assert landing(payment, card, NOW).refusal == "link_replaced"
    closed = replace(payment, ended="closed")
    assert landing(closed, attempt(AttemptStatus.EXPIRED), NOW).refusal == "order_closed"
