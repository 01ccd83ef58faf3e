"""Every Kafka client connects as the settings say: plaintext adds nothing, SASL_SSL adds
SCRAM credentials and a context verifying the broker, and incomplete settings refuse."""

from __future__ import annotations

import ssl
from pathlib import Path

import faust
import pytest
from click.testing import CliRunner
from pydantic import SecretStr, ValidationError

from deploy.local.kafka_security import BrokerSecurity
from fulfil.cli import cli
from shared.kafka.agents import build_faust_app, consumer_config
from shared.kafka.security import PLAINTEXT, KafkaSecurity, aiokafka_kwargs, faust_credentials
from shared.settings import KafkaSettings, ServiceSettings


@pytest.fixture(scope="module")
def ca_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    security = BrokerSecurity(tmp_path_factory.mktemp("security"))
    security.prepare()
    return security.ca_file


def scram(ca_file: Path) -> KafkaSecurity:
    return KafkaSecurity(
        protocol="SASL_SSL", username="order", password=SecretStr("s3cret"), ca_file=ca_file
    )


def test_plaintext_clients_are_built_exactly_as_before() -> None:
    assert aiokafka_kwargs(PLAINTEXT) == {}
    assert faust_credentials(PLAINTEXT) is None
    assert "security_protocol" not in consumer_config("order", "127.0.0.1:9092")


def test_sasl_ssl_gives_scram_credentials_and_a_verifying_context(ca_file: Path) -> None:
    kwargs = aiokafka_kwargs(scram(ca_file))
    assert kwargs["security_protocol"] == "SASL_SSL"
    assert kwargs["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (kwargs["sasl_plain_username"], kwargs["sasl_plain_password"]) == ("order", "s3cret")
    context = kwargs["ssl_context"]
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


def test_the_consumers_and_faust_get_the_same_credentials(ca_file: Path) -> None:
    security = scram(ca_file)
    config = consumer_config("order", "127.0.0.1:9092", security=security)
    assert config["sasl_plain_username"] == "order"
    app = build_faust_app("order", "127.0.0.1:9092", security=security)
    credentials = app.conf.broker_credentials
    assert isinstance(credentials, faust.SASLCredentials)
    assert credentials.protocol.value == "SASL_SSL"
    assert credentials.mechanism.value == "SCRAM-SHA-512"
    assert credentials.username == "order"


def test_settings_read_the_block_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, ca_file: Path
) -> None:
    password = tmp_path / "password"
    password.write_text("from-a-mounted-secret\n")
    monkeypatch.setenv("FULFIL_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("FULFIL_KAFKA_SASL_USERNAME", "payment")
    monkeypatch.setenv("FULFIL_KAFKA_SASL_PASSWORD_FILE", str(password))
    monkeypatch.setenv("FULFIL_KAFKA_SSL_CA_FILE", str(ca_file))
    security = KafkaSecurity.from_settings(ServiceSettings())
    assert security.username == "payment"
    assert security.password is not None
    assert security.password.get_secret_value() == "from-a-mounted-secret"
    assert KafkaSecurity.from_settings(KafkaSettings()) == security


def test_sasl_without_credentials_refuses_to_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FULFIL_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    with pytest.raises(ValidationError, match="kafka_sasl_username and kafka_sasl_password"):
        ServiceSettings()


def test_a_client_certificate_needs_its_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FULFIL_KAFKA_SECURITY_PROTOCOL", "SSL")
    monkeypatch.setenv("FULFIL_KAFKA_SSL_CERT_FILE", "/etc/client.pem")
    with pytest.raises(ValidationError, match="go together"):
        ServiceSettings()


def test_a_short_kafka_password_is_refused_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FULFIL_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("FULFIL_KAFKA_SASL_USERNAME", "order")
    monkeypatch.setenv("FULFIL_KAFKA_SASL_PASSWORD", "short")
    with pytest.raises(ValidationError, match="FULFIL_KAFKA_SASL_PASSWORD"):
        ServiceSettings(
            env="production",
            shop_api_key=SecretStr("s" * 32),
            ops_api_key=SecretStr("o" * 32),
            order_token_secret=SecretStr("t" * 32),
        )


def test_the_command_refuses_incomplete_kafka_settings_in_one_line() -> None:
    env = {"FULFIL_KAFKA_SECURITY_PROTOCOL": "SASL_SSL"}
    result = CliRunner().invoke(cli, ["lag", "--json"], env=env)
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: Kafka settings: kafka_security_protocol SASL_SSL needs kafka_sasl_username"
        " and kafka_sasl_password"
    ]
