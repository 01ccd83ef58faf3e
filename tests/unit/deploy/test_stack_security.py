"""A secured local stack hands each service its own principal through its environment,
and a stack keeps the security it was made with."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.local.stack import KAFKA_SECURITY_ENV, Stack
from services.order.settings import OrderSettings
from shared.kafka.security import KafkaSecurity

CREDS = {"shop_api_key": "s", "ops_api_key": "o", "order_token_secret": "t"}


def test_each_service_connects_as_its_own_scram_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = Stack(tmp_path, secured=True)
    stack.broker_security.prepare()
    env = stack.service_env("order", "127.0.0.1:9093", "postgresql://x/order", 8001, CREDS, {})
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    security = KafkaSecurity.from_settings(OrderSettings())
    assert security.protocol == "SASL_SSL"
    assert security.username == "order"
    assert security.password is not None
    assert security.password.get_secret_value() == stack.broker_security.password("order")
    assert security.ca_file == stack.broker_security.ca_file
    assert stack.kafka_state()["security_protocol"] == "SASL_SSL"


def test_a_plaintext_stack_gives_no_kafka_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KAFKA_SECURITY_ENV, raising=False)
    stack = Stack(tmp_path)
    assert stack.secured is False
    env = stack.service_env("order", "127.0.0.1:9092", "postgresql://x/order", 8001, CREDS, {})
    assert not [name for name in env if name.startswith("ORDER_KAFKA_S")]


def test_the_choice_comes_from_the_environment_and_then_sticks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KAFKA_SECURITY_ENV, "sasl_ssl")
    stack = Stack(tmp_path)
    assert stack.secured is True
    stack.broker_security.prepare()
    monkeypatch.delenv(KAFKA_SECURITY_ENV)
    assert Stack(tmp_path).secured is True
    monkeypatch.setenv(KAFKA_SECURITY_ENV, "kerberos")
    with pytest.raises(ValueError, match="expected one of plaintext, sasl_ssl"):
        Stack(tmp_path)
