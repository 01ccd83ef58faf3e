"""How a Kafka client authenticates and encrypts: one description, used by every client.

The outbox producer, the services' aiokafka consumers, faust, the admin and lag clients
and the `fulfil` command all take a `KafkaSecurity` and pass `aiokafka_kwargs(security)`
to aiokafka (faust gets the same through `faust_credentials`). `PLAINTEXT`, the default
on a developer's machine, adds no keyword at all, so a plaintext client is built exactly
as before. Against a secured broker the client speaks SASL (SCRAM-SHA-512) over TLS,
trusting the CA in `ca_file`, and presents `cert_file`/`key_file` where the broker asks
for a client certificate (mTLS).
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import faust
from aiokafka.helpers import create_ssl_context
from pydantic import SecretStr

from shared.settings import KafkaSettings

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]


@dataclass(frozen=True)
class KafkaSecurity:
    protocol: SecurityProtocol = "PLAINTEXT"
    sasl_mechanism: str = "SCRAM-SHA-512"
    username: str | None = None
    password: SecretStr | None = None
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None

    def __post_init__(self) -> None:
        if self.sasl and not (self.username and self.password):
            raise ValueError(f"Kafka {self.protocol} needs a SASL username and password")

    @classmethod
    def from_settings(cls, s: KafkaSettings) -> KafkaSecurity:
        return cls(
            protocol=s.kafka_security_protocol,
            sasl_mechanism=s.kafka_sasl_mechanism,
            username=s.kafka_sasl_username,
            password=s.kafka_sasl_password,
            ca_file=s.kafka_ssl_ca_file,
            cert_file=s.kafka_ssl_cert_file,
            key_file=s.kafka_ssl_key_file,
        )

    @property
    def sasl(self) -> bool:
        return self.protocol.startswith("SASL_")

    @property
    def tls(self) -> bool:
        return self.protocol.endswith("SSL")

    def ssl_context(self) -> ssl.SSLContext | None:
        """A context verifying the broker's certificate and host name against `ca_file`
        (the system's CAs without one), with the client certificate for mTLS if given."""
        if not self.tls:
            return None
        return create_ssl_context(
            cafile=str(self.ca_file) if self.ca_file else None,
            certfile=str(self.cert_file) if self.cert_file else None,
            keyfile=str(self.key_file) if self.key_file else None,
        )

    def with_user(self, username: str, password: str) -> KafkaSecurity:
        """The same connection as another principal (the tests' and tools' helper)."""
        return KafkaSecurity(
            self.protocol,
            self.sasl_mechanism,
            username,
            SecretStr(password),
            self.ca_file,
            self.cert_file,
            self.key_file,
        )


PLAINTEXT = KafkaSecurity()


def aiokafka_kwargs(security: KafkaSecurity) -> dict[str, Any]:
    """The keywords every aiokafka client (producer, consumer, admin) is given; none at all
    for plaintext, so those clients keep aiokafka's own defaults."""
    if security.protocol == "PLAINTEXT":
        return {}
    kwargs: dict[str, Any] = {"security_protocol": security.protocol}
    context = security.ssl_context()
    if context is not None:
        kwargs["ssl_context"] = context
    if security.sasl:
        assert security.password is not None  # checked at construction
        kwargs["sasl_mechanism"] = security.sasl_mechanism
        kwargs["sasl_plain_username"] = security.username
        kwargs["sasl_plain_password"] = security.password.get_secret_value()
    return kwargs


def faust_credentials(security: KafkaSecurity) -> faust.types.auth.CredentialsT | None:
    """faust's `broker_credentials` for the same connection (it hands them to aiokafka)."""
    if security.protocol == "PLAINTEXT":
        return None
    context = security.ssl_context()
    if not security.sasl:
        assert context is not None
        return faust.SSLCredentials(context)
    assert security.password is not None
    return faust.SASLCredentials(
        username=security.username,
        password=security.password.get_secret_value(),
        ssl_context=context,
        mechanism=security.sasl_mechanism,
    )
