"""Typed settings, read from the environment with a per-service prefix.

Defaults suit the local stack. Outside development the service refuses to start
while any secret still holds a development placeholder.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_PREFIX = "dev-"
PLACEHOLDERS_ALLOWED = frozenset({"development", "test"})


class ServiceSettings(BaseSettings):
    """What every service needs; each service subclasses it with its own prefix."""

    model_config = SettingsConfigDict(env_prefix="FULFIL_", extra="ignore", populate_by_name=True)

    # where placeholder secrets may run: a developer's machine ("development") and the test
    # suite's throwaway stacks ("test"); anywhere else ("staging", "production") refuses them
    env: Literal["development", "test", "staging", "production"] = "development"
    kafka_bootstrap: str = "127.0.0.1:9092"
    database_url: str = "postgresql://fulfil@127.0.0.1:5432/fulfil"
    database_pool_size: int = 10
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    public_base_url: str | None = None
    shop_api_key: SecretStr = SecretStr("dev-shop-key")
    ops_api_key: SecretStr = SecretStr("dev-ops-key")
    order_token_secret: SecretStr = SecretStr("dev-order-token-secret")
    log_format: Literal["json", "console"] | None = None
    log_level: str = "INFO"

    outbox_batch_size: int = 500
    # NOTIFY wakes the outbox relay, the timers poller and the effects workers; their polls
    # are safety nets, slow so that an idle service costs next to nothing
    outbox_poll_seconds: float = 30.0
    outbox_retry_seconds: float = 0.5  # after the broker did not acknowledge a record
    outbox_retention_hours: float = 24.0
    housekeeping_seconds: float = 60.0  # how often retention purges run
    inbox_retention_days: float = 30.0
    # events about an order still unknown after this long are dropped (shared/held.py)
    held_retention_days: float = 7.0
    timer_poll_seconds: float = 10.0
    timer_max_attempts: int = 10
    consumer_group_suffix: str = ""
    consumer_instance_id: str | None = None  # unique per replica (e.g. the pod name)
    consumer_max_attempts: int = 5
    consumer_backoff_seconds: float = 0.2
    consumer_backoff_max_seconds: float = 10.0

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

    @property
    def base_url(self) -> str:
        return self.public_base_url or f"http://{self.http_host}:{self.http_port}"

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
            raise ValueError(
                f"refusing to start in {self.env} with placeholder or short secrets: {weak}"
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
