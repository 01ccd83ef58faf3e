"""Settings: typed, prefixed, and no placeholder secrets outside development."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.order.settings import OrderSettings
from services.payment.settings import PaymentSettings


def test_settings_are_read_with_the_service_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDER_HTTP_PORT", "9123")
    monkeypatch.setenv("PAYMENT_HTTP_PORT", "9456")
    assert OrderSettings().http_port == 9123
    assert PaymentSettings().http_port == 9456


def test_development_defaults_work_out_of_the_box() -> None:
    settings = OrderSettings()
    assert settings.env == "development"
    assert settings.shop_api_key.get_secret_value().startswith("dev-")


@pytest.mark.parametrize("env", ["staging", "production"])
def test_outside_development_placeholder_secrets_are_refused(
    monkeypatch: pytest.MonkeyPatch, env: str
) -> None:
    monkeypatch.setenv("ORDER_ENV", env)
    with pytest.raises(ValidationError, match=f"refusing to start in {env} with placeholder"):
        OrderSettings()


def test_production_starts_with_real_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    names = list(OrderSettings().secrets())
    assert names, "the check must have secrets to check"
    monkeypatch.setenv("ORDER_ENV", "production")
    for name in names:
        monkeypatch.setenv(f"ORDER_{name.upper()}", "s3cr3t-" + name + "-x" * 8)
    assert OrderSettings().env == "production"
