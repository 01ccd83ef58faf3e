"""Opting out by contact: one key per contact however it is written, keywords, signed links."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import message_from_bytes

import pytest

from services.notify import optout
from services.notify.channels import Delivery, SmtpEmail

SECRET = "unit-test-unsubscribe-secret"
NOW = datetime(2026, 11, 12, 9, 0, tzinfo=UTC)
YEAR = 365 * 86400


def test_a_phone_or_email_written_differently_is_the_same_contact() -> None:
    phones = ("+86 139-1234-5678", "13912345678", "008613912345678", "+8613912345678")
    assert len({optout.contact_key("sms", p) for p in phones}) == 1
    emails = (" Li.Wei@Example.com", "li.wei@example.com")
    assert len({optout.contact_key("email", e) for e in emails}) == 1
    assert optout.contact_key("sms", "13912345678") != optout.contact_key("sms", "13912345679")


@pytest.mark.parametrize(
    "text", ["TD", "td", " T ", "STOP", "stop!", "退订", "退訂", "\uff34\uff24", "退订。"]
)
def test_an_opt_out_keyword_is_recognised_however_typed(text: str) -> None:
    assert optout.is_opt_out_keyword(text)


@pytest.mark.parametrize("text", ["", "thanks", "when will it ship?", "TD please call me"])
def test_other_replies_are_not_opt_outs(text: str) -> None:
    assert not optout.is_opt_out_keyword(text)


def test_only_non_essential_messages_are_skipped_for_an_opted_out_contact() -> None:
    assert optout.skip_reason("payment_reminder", True) == optout.CONTACT_OPTED_OUT
    assert optout.skip_reason("payment_reminder", False) is None
    for essential in ("order_confirmation", "payment_received", "shipped", "refund_paid"):
        assert optout.skip_reason(essential, True) is None


def test_an_unsubscribe_token_names_its_contact_and_nothing_else_verifies() -> None:
    token = optout.make_token(SECRET, "email", " Li@Example.com", "zh-TW", NOW)
    later = (NOW + timedelta(days=30)).timestamp()
    who = optout.read_token(SECRET, token, valid_seconds=YEAR, now=later)
    assert who == optout.Subscriber("email", "li@example.com", "zh-TW")
    body, ts, digest = token.split(".")
    other = optout.make_token(SECRET, "email", "someone@else.com", "en", NOW).split(".")[0]
    for bad in (
        f"{other}.{ts}.{digest}",  # another contact under this signature
        f"{body}.{int(ts) + 1}.{digest}",
        f"{body}.{ts}.{'0' * len(digest)}",
        optout.make_token("another-secret", "email", "li@example.com", "en", NOW),
        "garbage",
    ):
        with pytest.raises(optout.InvalidToken):
            optout.read_token(SECRET, bad, valid_seconds=YEAR, now=later)
    with pytest.raises(optout.InvalidToken):  # expired
        optout.read_token(SECRET, token, valid_seconds=YEAR, now=NOW.timestamp() + 2 * YEAR)


def test_a_non_essential_email_carries_the_one_click_unsubscribe_headers() -> None:
    smtp = SmtpEmail("127.0.0.1", 25, "shop@example.com")
    url = "https://notify.example/v1/unsubscribe?token=abc"
    base = {"message_id": "ntf_1", "channel": "email", "recipient": "li@example.com"}
    message = message_from_bytes(smtp.compose(Delivery(**base, text="hi", unsubscribe_url=url)))
    assert message["List-Unsubscribe"] == f"<{url}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "List-Unsubscribe" not in message_from_bytes(smtp.compose(Delivery(**base, text="hi")))
