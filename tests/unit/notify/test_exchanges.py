"""The exchange messages: the difference to pay, to be refunded or none; when the
replacement leaves; who pays the return postage; the link and deadline to pay; why an
exchange cannot be made, in plain words, with a refund offered instead; and which of them
go at once at night. The sample of each is in the golden files (test_golden.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from services.notify import content, domain, handlers, samples, samples_exchanges
from services.notify.domain import QuietHours, zone
from services.notify.templates import Templates
from shared.contracts.envelope import Event, Money
from shared.contracts.events import logistics, payment, returns

TEMPLATES = Templates()
EXCHANGES = (
    "exchange_accepted",
    "exchange_payment_requested",
    "exchange_refused",
    "exchange_shipped",
    "exchange_cancelled",
)


def sample(template: str, locale: str = "en") -> Any:
    return samples.events(locale)[template]


def render(template: str, event: Event, locale: str = "en", channel: str = "email") -> str:
    placed = samples.placed(locale)
    values = content.context(
        template, samples.ORDER_ID, placed, event, shop_name="Shop", tz=zone("UTC", "UTC")
    )
    rendered = TEMPLATES.render(template, locale, channel, values)
    return f"{rendered.subject or ''}\n{rendered.text}"


def accepted(locale: str = "en", **changes: Any) -> returns.ExchangeAccepted:
    event: returns.ExchangeAccepted = sample("exchange_accepted", locale)
    return event.model_copy(update=changes)


SETTLED = {  # what each settlement says, by locale: to pay, refunded on return, nothing
    "en": ("a payment link follows", "we refund the difference once we receive your return",
           "there is nothing to pay"),
    "zh-CN": ("付款链接将另行发送", "收到您寄回的商品后会退还差价", "无需补付差价"),
    "zh-TW": ("付款連結將另行寄給您", "收到您寄回的商品後會退還差額", "不需補付差額"),
}  # fmt: skip


@pytest.mark.parametrize("locale", domain.LOCALES)
def test_the_difference_is_to_pay_refunded_once_the_return_arrives_or_nothing(
    locale: str,
) -> None:
    to_pay, refunded, nothing = SETTLED[locale]
    charge = render("exchange_accepted", accepted(locale), locale)
    assert to_pay in charge and "¥10.00" in charge
    refund = accepted(locale, settlement="refund", pay_by=None)
    text = render("exchange_accepted", refund, locale)
    assert refunded in text and "¥10.00" in text and to_pay not in text
    none = accepted(locale, settlement="none", difference=Money(amount=0, currency="CNY"))
    text = render("exchange_accepted", none, locale)
    assert nothing in text and to_pay not in text and refunded not in text


def test_it_names_the_replacement_what_to_send_back_and_who_pays_the_postage() -> None:
    text = render("exchange_accepted", accepted())
    assert "Cotton T-shirt (Red / L) x 2" in text, "the replacement, its variant and quantity"
    assert "Cotton T-shirt (Red / M) x 2" in text, "the units to send back, as ordered"
    assert "return postage is at your expense" in text
    assert "add its courier and tracking number in your order" in text
    shop_pays = render("exchange_accepted", accepted(return_shipping_paid_by="shop"))
    assert "return postage is on us" in shop_pays
    sms = render("exchange_accepted", accepted(return_shipping_paid_by="shop"), channel="sms")
    assert "(postage on us)" in sms and "Red / L" in sms


@pytest.mark.parametrize(
    ("ships", "settlement", "when", "sms"),
    [
        ("at_once", "none", "ships right away", "Ships now."),
        ("at_once", "charge", "as soon as the difference is paid", "Ships once paid."),
        ("on_return", "refund", "as soon as we receive your return", "Ships once yours arrives."),
        ("on_return", "charge", "once the difference is paid and we receive", "paid and returned"),
    ],
)
def test_it_says_when_the_replacement_leaves(
    ships: str, settlement: str, when: str, sms: str
) -> None:
    event = accepted(ships=ships, settlement=settlement)
    assert when in render("exchange_accepted", event)
    assert sms in render("exchange_accepted", event, channel="sms")


@pytest.mark.parametrize("locale", domain.LOCALES)
def test_the_payment_request_gives_the_amount_the_link_and_the_deadline(locale: str) -> None:
    for channel in domain.CHANNELS:
        text = render(
            "exchange_payment_requested", sample("exchange_payment_requested"), locale, channel
        )
        assert samples_exchanges.CHECKOUT_URL in text and "¥10.00" in text
        deadline = "22 Nov 2026 06:00" if locale == "en" else "2026年11月22日 06:00"
        assert deadline in text, "the deadline where the customer is (UTC here)"


def test_without_a_checkout_page_it_is_paid_on_the_order_page_and_no_deadline_is_made_up() -> None:
    bare = payment.ExchangePaymentRequested(
        exchange_id="exc_1", attempt_id="att_1", amount=Money(amount=500, currency="CNY")
    )
    email = render("exchange_payment_requested", bare)
    assert "Pay on your order page: https://shop.example/orders/" in email
    assert " by " not in email and "cancelled" not in email
    sms = render("exchange_payment_requested", bare, channel="sms")
    assert "Pay:" not in sms and "¥5.00" in sms


REASONS = {
    "unknown_sku": "not in our catalogue",
    "not_same_product": "a different product",
    "out_of_stock": "out of stock",
    "something_new": "cannot be exchanged at the moment",
}


@pytest.mark.parametrize(("reason", "words"), REASONS.items())
def test_a_refusal_says_why_in_plain_words_and_offers_a_refund(reason: str, words: str) -> None:
    refused = returns.ExchangeRefused(exchange_id="exc_1", reason=reason, message="TEE: 0")
    for channel in domain.CHANNELS:
        text = render("exchange_refused", refused, channel=channel)
        assert words in text and "refund instead" in text
        assert reason not in text and "TEE: 0" not in text, "never the code or the raw message"


@pytest.mark.parametrize("locale", domain.LOCALES)
def test_every_refusal_reason_is_worded_in_every_locale(locale: str) -> None:
    worded = content.content_exchanges.REFUSED_BECAUSE[locale]
    assert set(worded) == {"unknown_sku", "not_same_product", "out_of_stock", "other"}


def test_the_cancelled_exchange_says_nothing_was_charged_only_when_it_went_unpaid() -> None:
    unpaid = render(
        "exchange_cancelled", returns.ExchangeCancelled(exchange_id="e", reason="unpaid")
    )
    assert "not paid by the deadline" in unpaid and "Nothing was charged" in unpaid
    assert "not exchanged" in unpaid
    other = render("exchange_cancelled", returns.ExchangeCancelled(exchange_id="e", reason="x"))
    assert "not exchanged" in other and "Nothing was charged" not in other


@pytest.mark.parametrize(
    ("locale", "said"),
    [("en", "not sent back by the deadline"), ("zh-CN", "未在期限内寄回"),
     ("zh-TW", "未在期限內寄回")],
)  # fmt: skip
def test_units_never_sent_back_are_the_reason_given_in_every_language(
    locale: str, said: str
) -> None:
    event = returns.ExchangeCancelled(exchange_id="e", reason="not_returned")
    for channel in domain.CHANNELS:
        assert said in render("exchange_cancelled", event, locale, channel)


def test_the_return_deadline_is_told_only_when_the_replacement_waits_for_the_units() -> None:
    waits = render("exchange_accepted", accepted(), channel="sms")
    assert "Return yours by 27 Nov 2026 06:00" in waits
    at_once = render("exchange_accepted", accepted(ships="at_once"), channel="sms")
    assert "Return yours (" in at_once, "sent at once: no deadline ends that exchange"


def test_the_replacement_shipped_names_it_the_courier_and_the_tracking_number() -> None:
    event: logistics.ExchangeShipped = sample("exchange_shipped")
    for channel in domain.CHANNELS:
        text = render("exchange_shipped", event, channel=channel)
        assert "Cotton T-shirt (Red / L) x 2" in text and "SF Express" in text
        assert "SF9876543210" in text and "sf-express.com" in text


NIGHT = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai
QUIET = QuietHours(start=datetime(2026, 1, 1, 22).time(), end=datetime(2026, 1, 1, 8).time())


def test_the_answer_and_the_difference_to_pay_go_at_night_the_rest_in_the_morning() -> None:
    tz = zone("Asia/Shanghai", "UTC")
    at_once = {t for t in EXCHANGES if domain.send_after(t, NIGHT, tz, QUIET) == NIGHT}
    assert at_once == {"exchange_accepted", "exchange_refused", "exchange_payment_requested"}
    assert not set(EXCHANGES) & domain.NON_ESSENTIAL, "an opt-out never silences them"


def test_each_exchange_event_is_routed_to_its_message() -> None:
    routed = {
        returns.ExchangeAccepted,
        returns.ExchangeRefused,
        returns.ExchangeCancelled,
        payment.ExchangePaymentRequested,
        logistics.ExchangeShipped,
    }
    assert routed <= set(handlers.HANDLERS)
    assert set(EXCHANGES) <= set(domain.TEMPLATES)
