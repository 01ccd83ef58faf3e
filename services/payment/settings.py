"""Settings of the payment service, read from `PAYMENT_*` environment variables."""

from typing import Literal

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

    # Reconciliation: attempts whose callback has not come for `after` seconds are asked
    # of their provider every `every` seconds, a bounded batch at a time, for `horizon`.
    reconcile_every_seconds: float = 300.0
    reconcile_after_seconds: float = 900.0
    reconcile_horizon_seconds: float = 3 * 86_400.0
    reconcile_batch_size: int = 50

    # Alipay (wallet and online banking): configured when the app id is set.
    alipay_app_id: str | None = None
    alipay_private_key: SecretStr | None = None  # ours (PEM), registered with Alipay
    alipay_public_key: str | None = None  # Alipay's (PEM), verifies notifies and answers
    alipay_gateway: str = "https://openapi.alipay.com/gateway.do"
    alipay_notify_url: str | None = None  # else this service's /v1/webhooks/alipay
    alipay_return_url: str | None = None
    alipay_product: Literal["page", "wap"] = "page"
    alipay_timeout_seconds: float = 10.0

    @property
    def sandbox(self) -> bool:
        if self.sandbox_enabled is None:
            return self.env != "production"
        return self.sandbox_enabled
