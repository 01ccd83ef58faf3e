"""Notify in production starts only with real providers, each with its credentials, and
says in one line which setting is missing; the development gateway and the local sink's
defaults, and plain-text SMTP (unless allowed), are refused there."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from services.notify.domain import TEMPLATES
from services.notify.settings import NotifySettings

STRONG = "s3cr3t-made-for-this-test-xxxxxxxx"
PRODUCTION: dict[str, str] = {
    "NOTIFY_ENV": "production",
    "NOTIFY_SHOP_API_KEY": STRONG,
    "NOTIFY_OPS_API_KEY": STRONG,
    "NOTIFY_ORDER_TOKEN_SECRET": STRONG,
    "NOTIFY_UNSUBSCRIBE_SECRET": STRONG,
    "NOTIFY_SMS_INBOUND_SECRET": STRONG,
    "NOTIFY_PUBLIC_BASE_URL": "https://notify.shop.example",
    "NOTIFY_SMTP_HOST": "smtp.mail.example",
    "NOTIFY_SMTP_PORT": "587",
    "NOTIFY_SMTP_SECURITY": "starttls",
    "NOTIFY_SMTP_USERNAME": "orders@shop.example",
    "NOTIFY_SMTP_PASSWORD": STRONG,
    "NOTIFY_SMS_ROUTES": '{"+86": "aliyun", "*": "twilio"}',
    "NOTIFY_SMS_ALIYUN_ACCESS_KEY_ID": "LTAI5tExampleKeyId",
    "NOTIFY_SMS_ALIYUN_ACCESS_KEY_SECRET": STRONG,
    "NOTIFY_SMS_ALIYUN_SIGN_NAME": "富饶商城",
    "NOTIFY_SMS_ALIYUN_TEMPLATES": json.dumps(
        {
            t: {"code": f"SMS_47{n:04d}", "params": {"order": "order_ref"}}
            for n, t in enumerate(TEMPLATES)
        }
    ),
    "NOTIFY_SMS_ALIYUN_RECEIPT_TOKEN": STRONG,
    "NOTIFY_SMS_TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
    "NOTIFY_SMS_TWILIO_AUTH_TOKEN": STRONG,
    "NOTIFY_SMS_TWILIO_FROM": "+15005550006",
}


def settings_with(monkeypatch: pytest.MonkeyPatch, **changes: str | None) -> NotifySettings:
    env: dict[str, Any] = {**PRODUCTION, **changes}
    for name, value in env.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    return NotifySettings()


def refusal(monkeypatch: pytest.MonkeyPatch, **changes: str | None) -> str:
    with pytest.raises(ValidationError) as refused:
        settings_with(monkeypatch, **changes)
    [error] = refused.value.errors()
    message = str(error["ctx"]["error"]) if "ctx" in error else error["msg"]
    assert "\n" not in message, "one line"
    return message


def test_production_starts_with_every_provider_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_with(monkeypatch)
    assert settings.env == "production" and "sms_gateway_key" not in settings.secrets()


@pytest.mark.parametrize(
    "unset",
    [
        "NOTIFY_SMS_ALIYUN_ACCESS_KEY_ID",
        "NOTIFY_SMS_ALIYUN_ACCESS_KEY_SECRET",
        "NOTIFY_SMS_ALIYUN_SIGN_NAME",
        "NOTIFY_SMS_ALIYUN_TEMPLATES",
        "NOTIFY_SMS_ALIYUN_RECEIPT_TOKEN",
        "NOTIFY_SMS_TWILIO_ACCOUNT_SID",
        "NOTIFY_SMS_TWILIO_AUTH_TOKEN",
        "NOTIFY_SMS_TWILIO_FROM",
        "NOTIFY_PUBLIC_BASE_URL",
        "NOTIFY_SMTP_PASSWORD",
    ],
)
def test_a_missing_credential_is_named(monkeypatch: pytest.MonkeyPatch, unset: str) -> None:
    assert f"{unset} is missing" in refusal(monkeypatch, **{unset: None})


def test_a_provider_no_route_uses_needs_no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    only_twilio = settings_with(
        monkeypatch, NOTIFY_SMS_ROUTES='{"*": "twilio"}', NOTIFY_SMS_ALIYUN_ACCESS_KEY_ID=None
    )
    assert only_twilio.sms_routes == {"*": "twilio"}


def test_the_development_gateway_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    message = refusal(
        monkeypatch,
        NOTIFY_SMS_ROUTES='{"+86": "aliyun", "*": "gateway"}',
        NOTIFY_SMS_GATEWAY_KEY=STRONG,
    )
    assert "NOTIFY_SMS_ROUTES sends to the development SMS gateway" in message


def test_the_local_sink_and_plain_text_smtp_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    sink = refusal(monkeypatch, NOTIFY_SMTP_HOST=None, NOTIFY_SMTP_PORT=None)
    plain = refusal(monkeypatch, NOTIFY_SMTP_SECURITY="none")
    allowed = settings_with(
        monkeypatch, NOTIFY_SMTP_SECURITY="none", NOTIFY_SMTP_ALLOW_PLAINTEXT="true"
    )
    assert "NOTIFY_SMTP_HOST" in sink
    assert "NOTIFY_SMTP_SECURITY is none" in plain
    assert allowed.smtp_security == "none"


def test_development_keeps_the_sandboxes(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PRODUCTION:
        monkeypatch.delenv(name, raising=False)
    settings = NotifySettings()
    assert settings.sms_routes == {"*": "gateway"} and settings.smtp_security == "none"


def test_every_template_needs_an_approved_aliyun_one(monkeypatch: pytest.MonkeyPatch) -> None:
    some = {"order_confirmation": {"code": "SMS_470001"}}
    message = refusal(monkeypatch, NOTIFY_SMS_ALIYUN_TEMPLATES=json.dumps(some))
    assert "NOTIFY_SMS_ALIYUN_TEMPLATES has no approved template for" in message
    assert "payment_reminder" in message


def test_a_template_variable_names_a_value_there_is(monkeypatch: pytest.MonkeyPatch) -> None:
    bad = {"order_confirmation": {"code": "SMS_470001", "params": {"order": "customer_name"}}}
    with pytest.raises(ValidationError, match="sms_aliyun_templates"):
        settings_with(monkeypatch, NOTIFY_SMS_ALIYUN_TEMPLATES=json.dumps(bad))
