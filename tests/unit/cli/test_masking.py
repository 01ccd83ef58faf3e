"""The command never shows personal data: phones, emails and addresses are masked."""

from __future__ import annotations

from fulfil.masking import mask, mask_text


def test_contact_and_address_fields_are_masked_at_any_depth() -> None:
    payload = {
        "order": {
            "contact": {"phone": "+86 138 0013 8000", "email": "li.wei@example.com"},
            "address": {"recipient": "Li Wei", "line1": "1 Nanjing Rd", "city": "Shanghai"},
        },
        "total": {"amount": 12900, "currency": "CNY"},
    }
    masked = mask(payload)
    assert masked["order"]["contact"] == {"phone": "***00", "email": "l***@example.com"}
    assert set(masked["order"]["address"].values()) == {"***"}
    assert masked["total"] == payload["total"], "what is not personal is shown as it is"


def test_phones_and_emails_in_free_text_are_masked() -> None:
    text = mask_text("SMS to +8613800138000 failed; mail li.wei@example.com bounced")
    assert "13800138000" not in text and "li.wei@" not in text
    assert "***00" in text and "l***@example.com" in text


def test_a_list_of_personal_values_is_masked_and_none_stays_none() -> None:
    assert mask({"phones": ["13800138000", None]}) == {"phones": ["***00", None]}
    assert mask({"email": None}) == {"email": None}


def test_ids_dates_and_positions_in_text_are_left_alone() -> None:
    text = "event bc365608-082c-4e90 at 2026-12-02 03:52:38 from orders.v1:0:12345678"
    assert mask_text(text) == text
