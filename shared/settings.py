"""Typed settings, read from the environment with a per-service prefix.

Defaults suit the local stack. Outside development the service refuses to start
while any secret still holds a development placeholder. Any setting may also be given
as a file: `<ENV_NAME>_FILE` names a file whose content, stripped, is the value (how
Kubernetes and Docker mount secrets).

One switch says where a service runs: `<PREFIX>ENV` (e.g. `PAYMENT_ENV`), else
`FULFIL_ENV`, else `ENV`, so that `ENV=production` switches all five at once
(`EnvironmentSource`). A service that must not start with its settings says why in one
line (`refusal`), naming the variables to set.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

PLACEHOLDER_PREFIX = "dev-"
PLACEHOLDERS_ALLOWED = frozenset({"development", "test"})
ENVIRONMENTS = ("development", "test", "staging", "production")
Environment = Literal["development", "test", "staging", "production"]
SWITCHES = ("FULFIL_ENV", "ENV")  # read after the service's own <PREFIX>ENV


class ConfigurationRefused(ValueError):
    """The service must not start with these settings; the message says why, in one line."""


class KafkaSettings(BaseSettings):
    """How a Kafka client connects (shared.kafka.security): every service's settings hold
    these, and the `fulfil` command reads them alone (`FULFIL_KAFKA_...`)."""

    model_config = SettingsConfigDict(env_prefix="FULFIL_", extra="ignore")

    # plaintext on a developer's machine; SASL (SCRAM-SHA-512) over TLS against a secured
    # broker, the CA file naming whom to trust, a client certificate and key only where the
    # broker asks for mTLS
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512"] = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_ca_file: Path | None = None
    kafka_ssl_cert_file: Path | None = None
    kafka_ssl_key_file: Path | None = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # after the variables: values read from `<NAME>_FILE`, then any the subclass adds
        after = (ValueFilesSource(settings_cls), *cls._sources_after_files(settings_cls))
        return init_settings, env_settings, *after, dotenv_settings, file_secret_settings

    @classmethod
    def _sources_after_files(cls, settings_cls: type[BaseSettings]) -> tuple[Any, ...]:
        return ()

    @model_validator(mode="after")
    def _kafka_credentials_complete(self) -> KafkaSettings:
        sasl = self.kafka_security_protocol.startswith("SASL_")
        if sasl and not (self.kafka_sasl_username and self.kafka_sasl_password):
            raise ValueError(
                f"kafka_security_protocol {self.kafka_security_protocol} needs"
                " kafka_sasl_username and kafka_sasl_password"
            )
        if (self.kafka_ssl_cert_file is None) != (self.kafka_ssl_key_file is None):
            raise ValueError("kafka_ssl_cert_file and kafka_ssl_key_file go together (mTLS)")
        return self


class ServiceSettings(KafkaSettings):
    """What every service needs; each service subclasses it with its own prefix."""

    model_config = SettingsConfigDict(env_prefix="FULFIL_", extra="ignore", populate_by_name=True)

    # where placeholder secrets may run: a developer's machine ("development") and the test
    # suite's throwaway stacks ("test"); anywhere else ("staging", "production") refuses them
    env: Environment = "development"
    kafka_bootstrap: str = "127.0.0.1:9092"
    database_url: str = "postgresql://fulfil@127.0.0.1:5432/fulfil"
    database_pool_size: int = 10
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    public_base_url: str | None = None
    shop_api_key: SecretStr = SecretStr("dev-shop-key")
    ops_api_key: SecretStr = SecretStr("dev-ops-key")
    # Reading a dead letter's personal data unmasked (`?raw=true`) takes this key of its own;
    # without it set, nobody can (docs/operations.md).
    ops_raw_api_key: SecretStr | None = None
    order_token_secret: SecretStr = SecretStr("dev-order-token-secret")
    log_format: Literal["json", "console"] | None = None
    log_level: str = "INFO"

    outbox_batch_size: int = 500
    # NOTIFY wakes the outbox relay, the timers poller and the effects workers; their polls
    # are safety nets, slow so that an idle service costs next to nothing
    outbox_poll_seconds: float = 60.0
    outbox_retry_seconds: float = 0.5  # after the broker did not acknowledge a record
    outbox_retention_hours: float = 24.0
    housekeeping_seconds: float = 60.0  # how often retention purges run
    inbox_retention_days: float = 30.0
    # events about an order still unknown after this long are dropped (shared/held.py)
    held_retention_days: float = 7.0
    timer_poll_seconds: float = 60.0
    # how often the gauges read from the database are refreshed (shared/gauges.py): each
    # refresh is one read-only transaction, which counts as a commit like any other
    gauges_seconds: float = 60.0
    timer_max_attempts: int = 10
    consumer_group_suffix: str = ""
    consumer_instance_id: str | None = None  # unique per replica (e.g. the pod name)
    consumer_max_attempts: int = 5
    consumer_backoff_seconds: float = 0.2
    # the longest pause between two tries of a message: also how late a consumer may notice
    # that its database is back after an outage (it must resume within seconds)
    consumer_backoff_max_seconds: float = 2.0
    # SIGTERM (shared.stopping): readiness false, `shutdown_drain_seconds` still answering,
    # then HTTP, consumers and background stopped within the grace (under Kubernetes' 30 s)
    shutdown_grace_seconds: float = Field(default=25.0, gt=0)
    shutdown_drain_seconds: float = Field(default=1.0, ge=0)

    # Tracing (shared/tracing.py): on when spans have somewhere to go. The OpenTelemetry
    # variables are the standard, unprefixed ones; the SDK reads OTEL_TRACES_SAMPLER itself.
    otel_exporter_otlp_endpoint: str | None = Field(
        default=None, validation_alias=AliasChoices("OTEL_EXPORTER_OTLP_ENDPOINT")
    )
    otel_exporter_otlp_traces_endpoint: str | None = Field(
        default=None, validation_alias=AliasChoices("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )
    otel_service_name: str | None = Field(
        default=None, validation_alias=AliasChoices("OTEL_SERVICE_NAME")
    )
    traces_file: str | None = None  # spans as JSON lines, for a demo without a collector

    @classmethod
    def _sources_after_files(cls, settings_cls: type[BaseSettings]) -> tuple[Any, ...]:
        return (EnvironmentSource(settings_cls),)  # FULFIL_ENV, then ENV

    @property
    def base_url(self) -> str:
        return self.public_base_url or f"http://{self.http_host}:{self.http_port}"

    @classmethod
    def env_name(cls, field: str) -> str:
        """The environment variable that sets `field`, e.g. ORDER_SHOP_API_KEY."""
        return f"{cls.model_config.get('env_prefix', '')}{field}".upper()

    def secrets(self) -> dict[str, SecretStr]:
        return {
            name: value
            for name in type(self).model_fields
            if isinstance(value := getattr(self, name), SecretStr)
        }

    @model_validator(mode="after")
    def _no_placeholder_secrets_outside_development(self) -> ServiceSettings:
        if self.env in PLACEHOLDERS_ALLOWED:
            return self
        weak = [
            name
            for name, secret in self.secrets().items()
            if secret.get_secret_value().startswith(PLACEHOLDER_PREFIX)
            or len(secret.get_secret_value()) < 16
        ]
        if weak:
            names = ", ".join(self.env_name(name) for name in weak)
            raise ValueError(
                f"refusing to start in {self.env} with placeholder or short secrets: {names} "
                "(each needs a real secret of 16 characters or more)"
            )
        if self.env == "production" and getattr(self, "sandbox_enabled", None):
            raise ValueError(
                f"{self.env_name('sandbox_enabled')} is set: the sandbox refuses to run "
                "in production (it is for development, the demo and the tests)"
            )
        return self

    @property
    def resolved_log_format(self) -> Literal["json", "console"]:
        if self.log_format:
            return self.log_format
        return "console" if self.env in PLACEHOLDERS_ALLOWED else "json"


def env_prefix(service: str) -> str:
    return f"{service.upper()}_"


def service_env(service: str, **values: object) -> dict[str, str]:
    """Environment variables that configure `service` (for the local stack and tests)."""
    prefix = env_prefix(service)
    return {f"{prefix}{name.upper()}": str(value) for name, value in values.items()}


def file_values(settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> dict[str, str]:
    """The settings given as files: for each field, `<ENV_NAME>_FILE` in `environ` names a
    file whose stripped content is the value. Giving both `<ENV_NAME>` and its `_FILE` is
    refused (which one wins would be a guess), and so is a file that cannot be read."""
    prefix = str(settings_cls.model_config.get("env_prefix", ""))
    upper = {name.upper(): value for name, value in environ.items()}
    values: dict[str, str] = {}
    for field in settings_cls.model_fields:
        env_name = f"{prefix}{field}".upper()
        path = upper.get(f"{env_name}_FILE")
        if path is None:
            continue
        if env_name in upper:
            raise SettingsError(f"both {env_name} and {env_name}_FILE are set; set one")
        try:
            values[field] = Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SettingsError(f"{env_name}_FILE: cannot read {path}: {exc.strerror}") from exc
    return values


class ValueFilesSource(PydanticBaseSettingsSource):
    """Settings read from the files named by `<ENV_NAME>_FILE` variables (`file_values`)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # all values come from __call__

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, raw in file_values(self.settings_cls, os.environ).items():
            field = self.settings_cls.model_fields[name]
            values[name] = json.loads(raw) if self.field_is_complex(field) else raw
        return values


class EnvironmentSource(PydanticBaseSettingsSource):
    """`env` from the switches every service reads, `FULFIL_ENV` then `ENV`, when the
    service's own `<PREFIX>ENV` is not set (that one is read by the environment source,
    before this). A value that is not an environment is refused naming the variable: a
    typo such as `ENV=prod` must not start production as development."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # the value comes from __call__

    def __call__(self) -> dict[str, Any]:
        for name in SWITCHES:
            value = os.environ.get(name)
            if value is None or not value.strip():
                continue
            if value.strip() not in ENVIRONMENTS:
                raise SettingsError(
                    f"{name}={value.strip()!r} is not an environment "
                    f"(one of {', '.join(ENVIRONMENTS)})"
                )
            return {"env": value.strip()}
        return {}


def refusal(exc: BaseException) -> str | None:
    """Why settings refused to load, in one line naming the variables, or None when `exc`
    is not about settings."""
    if isinstance(exc, ConfigurationRefused | SettingsError):
        return str(exc)
    if isinstance(exc, ValidationError):
        return "; ".join(_said(e["loc"], e["msg"]) for e in exc.errors())
    return None


def _said(loc: tuple[int | str, ...], msg: str) -> str:
    msg = msg.removeprefix("Value error, ")
    return f"{'.'.join(map(str, loc))}: {msg}" if loc else msg
