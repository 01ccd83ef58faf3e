"""Settings given as files (`<ENV_NAME>_FILE`), the way Kubernetes and Docker mount secrets."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic_settings import SettingsError

from services.payment.settings import PaymentSettings
from shared.settings import file_values


def test_a_setting_is_read_from_the_file_its_FILE_variable_names(tmp_path: Path) -> None:
    secret = tmp_path / "webhook"
    secret.write_text("  whsec_from_a_mounted_secret\n")
    environ = {"PAYMENT_STRIPE_WEBHOOK_SECRET_FILE": str(secret)}
    assert file_values(PaymentSettings, environ) == {
        "stripe_webhook_secret": "whsec_from_a_mounted_secret"
    }, "stripped: a mounted file ends with a newline"


def test_variables_of_other_services_and_plain_ones_are_not_files(tmp_path: Path) -> None:
    environ = {"ORDER_SHOP_API_KEY_FILE": "/nowhere", "PAYMENT_HTTP_PORT": "9000"}
    assert file_values(PaymentSettings, environ) == {}


def test_a_value_and_its_file_together_are_refused(tmp_path: Path) -> None:
    (tmp_path / "key").write_text("x")
    environ = {"PAYMENT_SHOP_API_KEY": "a", "payment_shop_api_key_file": str(tmp_path / "key")}
    with pytest.raises(
        SettingsError, match="both PAYMENT_SHOP_API_KEY and PAYMENT_SHOP_API_KEY_FILE"
    ):
        file_values(PaymentSettings, environ)


def test_a_file_that_cannot_be_read_is_named(tmp_path: Path) -> None:
    environ = {"PAYMENT_STRIPE_API_KEY_FILE": str(tmp_path / "missing")}
    with pytest.raises(SettingsError, match="PAYMENT_STRIPE_API_KEY_FILE: cannot read"):
        file_values(PaymentSettings, environ)


def test_settings_take_files_typed_as_any_other_value(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "key").write_text("sk_live_from_a_file_0000\n")
    (tmp_path / "methods").write_text('{"card": "stripe"}\n')
    (tmp_path / "port").write_text("9017")
    monkeypatch.setenv("PAYMENT_STRIPE_API_KEY_FILE", str(tmp_path / "key"))
    monkeypatch.setenv("PAYMENT_PROVIDERS_BY_METHOD_FILE", str(tmp_path / "methods"))
    monkeypatch.setenv("PAYMENT_HTTP_PORT_FILE", str(tmp_path / "port"))
    settings = PaymentSettings()
    assert settings.stripe_api_key is not None
    assert settings.stripe_api_key.get_secret_value() == "sk_live_from_a_file_0000"
    assert (settings.providers_by_method, settings.http_port) == ({"card": "stripe"}, 9017)


def test_a_value_given_to_the_constructor_wins_over_a_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "port").write_text("9017")
    monkeypatch.setenv("PAYMENT_HTTP_PORT_FILE", str(tmp_path / "port"))
    assert PaymentSettings(http_port=9018).http_port == 9018
