"""Settings: typed, prefixed, and no placeholder secrets outside development."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from pydantic_settings import SettingsError

from services.order.settings import OrderSettings
from services.payment.settings import PaymentSettings
from shared.settings import refusal


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


def test_one_switch_sets_every_service(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENV", "staging")
    monkeypatch.setenv("ORDER_SHOP_API_KEY", "s3cr3t-shop-key-xxxxxxxx")
    monkeypatch.setenv("ORDER_OPS_API_KEY", "s3cr3t-ops-key-xxxxxxxxx")
    monkeypatch.setenv("ORDER_ORDER_TOKEN_SECRET", "s3cr3t-token-key-xxxxxxx")
    assert OrderSettings().env == "staging"
    monkeypatch.setenv("FULFIL_ENV", "test")  # FULFIL_ENV before ENV
    assert OrderSettings().env == "test"
    monkeypatch.setenv("ORDER_ENV", "development")  # the service's own before both
    assert OrderSettings().env == "development"
    assert PaymentSettings().env == "test"


def test_an_unknown_environment_is_refused_naming_its_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ENV", "prod")
    with pytest.raises(SettingsError, match="ENV='prod' is not an environment"):
        OrderSettings()
    assert refusal(SettingsError("x")) == "x"


def test_a_refusal_names_the_variables_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENV", "production")
    with pytest.raises(ValidationError) as refused:
        OrderSettings()
    said = refusal(refused.value)
    assert said is not None and "ORDER_SHOP_API_KEY, ORDER_OPS_API_KEY" in said
    assert refusal(RuntimeError("a bug")) is None, "only settings are refusals"
