"""Settings of the payment service, read from `PAYMENT_*` environment variables.

Each payment method is paid through the provider `providers_by_method` names for it, else
through `default_provider`. With `ENV=production` the service starts only when every
provider it uses has its credentials (`production_refusal`).
"""

from __future__ import annotations

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
    # Which provider opens payment sessions for the upfront methods: the one named for the
    # method (JSON, e.g. {"card": "stripe", "wallet": "alipay"}), else the default.
    default_provider: str = "sandbox"
    providers_by_method: dict[str, str] = {}
    # An exchange's price difference is paid with the order's method, through its provider;
    # an order paid in cash on delivery or by pay-for-me has no session to pay it through,
    # so its exchanges are paid online with this method (and the provider named for it).
    exchange_method: Literal["wallet", "online_banking", "card"] = "card"
    # Refunds the provider could not pay are retried with backoff, then given up.
    refund_retry_base_seconds: float = 5.0
    refund_retry_max_seconds: float = 600.0
    refund_max_attempts: int = 8
    # Provider calls (refunds, payment sessions) are made after commit by the effects
    # worker; a claimed call not recorded within the lease is made again, same key.
    effects_lease_seconds: float = 30.0
    effects_poll_seconds: float = 60.0  # a safety net: a recorded call wakes the worker

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

    # --- Stripe (services/payment/providers/stripe.py) ---
    stripe_api_key: SecretStr | None = None  # a secret key, sk_live_... (sk_test_... to test)
    stripe_webhook_secret: SecretStr | None = None  # the endpoint's signing secret, whsec_...
    stripe_api_base: str | None = None  # only to point at stripe-mock
    stripe_webhook_tolerance_seconds: int = 300  # Stripe's own libraries default
    stripe_timeout_seconds: float = 20.0
    # where Stripe's hosted page sends the customer after paying or giving up ({order_id})
    stripe_success_url: str | None = None
    stripe_cancel_url: str | None = None
    # Stripe's payment method types per method; wallets (Apple Pay, Google Pay) show on
    # Stripe's page with "card"; e.g. {"wallet": ["alipay", "wechat_pay"]} for others
    stripe_method_types: dict[str, list[str]] = {"card": ["card"], "wallet": ["card"]}
    # --- end Stripe ---

    def provider_for(self, method: str) -> str:
        """The provider that opens sessions for `method`."""
        return self.providers_by_method.get(method, self.default_provider)

    def methods_using(self, provider: str) -> list[str]:
        """The methods `provider` is configured for ("default" when it is the fallback)."""
        methods = [m for m, p in sorted(self.providers_by_method.items()) if p == provider]
        return [*methods, "default"] if provider == self.default_provider else methods

    def providers_in_use(self) -> list[str]:
        return sorted({self.default_provider, *self.providers_by_method.values()})

    def secrets(self) -> dict[str, SecretStr]:
        """The secrets checked for placeholders; `webhook_secret` is the sandbox's alone."""
        found = super().secrets()
        if not self.sandbox:
            found.pop("webhook_secret", None)
        return found

    @property
    def sandbox(self) -> bool:
        if self.sandbox_enabled is None:
            return self.env != "production"
        return self.sandbox_enabled


# The settings each real provider cannot run without, by provider name.
REQUIRED = {
    # --- Stripe ---
    "stripe": ("stripe_api_key", "stripe_webhook_secret", "stripe_success_url"),
    # --- end Stripe ---
    "alipay": ("alipay_app_id", "alipay_private_key", "alipay_public_key", "alipay_notify_url"),
}


def production_refusal(settings: PaymentSettings) -> str | None:
    """Why payment must not start in production with `settings` (one line), or None: a
    provider in use without its credentials or with a development placeholder, or the
    sandbox, which is for development, the demo and the tests only."""
    if settings.env != "production":
        return None
    prefix = str(settings.model_config.get("env_prefix", ""))
    if settings.sandbox_enabled:
        return f"{prefix}SANDBOX_ENABLED is set: the sandbox provider refuses to run in production"
    for provider in settings.providers_in_use():
        used_by = ", ".join(settings.methods_using(provider))
        if provider == "sandbox":
            return f"provider sandbox (used by {used_by}) refuses to run in production"
        for name in REQUIRED.get(provider, ()):
            value = getattr(settings, name)
            raw = value.get_secret_value() if isinstance(value, SecretStr) else value
            env_name = f"{prefix}{name.upper()}"
            why = f"for provider {provider} (used by {used_by})"
            if not raw:
                return f"{env_name} is not set {why}"
            if str(raw).startswith("dev-"):
                return f"{env_name} holds a development placeholder {why}"
    if not settings.public_base_url:  # pay-for-me links lead through this service
        return (
            f"{prefix}PUBLIC_BASE_URL is not set: pay-for-me links (provider "
            f"{settings.provider_for('pay_for_me')}) lead through this service's public address"
        )
    return None
