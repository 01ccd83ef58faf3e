"""Settings of the payment service, read from `PAYMENT_*` environment variables."""

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class PaymentSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PAYMENT_", extra="ignore")

    database_url: str = "postgresql://fulfil@127.0.0.1:5432/payment"
    http_port: int = 8002

    # Shared with the providers: callbacks are signed with it (HMAC-SHA256).
    webhook_secret: SecretStr = SecretStr("dev-webhook-secret")
    webhook_tolerance_seconds: int = 300
    # The sandbox provider, served by this service under /sandbox (never in production).
    sandbox_enabled: bool | None = None
    # Which provider opens payment sessions for the upfront methods.
    default_provider: str = "sandbox"
    # Refunds the provider could not pay are retried with backoff, then given up.
    refund_retry_base_seconds: float = 5.0
    refund_retry_max_seconds: float = 600.0
    refund_max_attempts: int = 8
    # Provider calls (refunds, payment sessions) are made after commit by the effects
    # worker; a claimed call not recorded within the lease is made again, same key.
    effects_lease_seconds: float = 30.0
    effects_poll_seconds: float = 10.0  # a safety net: a recorded call wakes the worker

    @property
    def sandbox(self) -> bool:
        if self.sandbox_enabled is None:
            return self.env != "production"
        return self.sandbox_enabled
