"""What the payment service's steps need from the outside: its settings and its providers."""

from __future__ import annotations

from dataclasses import dataclass

from services.payment.providers import Provider
from services.payment.providers.alipay import AlipayProvider
from services.payment.providers.sandbox import SandboxProvider
from services.payment.providers.stripe import StripeProvider
from services.payment.settings import PaymentSettings, production_refusal
from shared import effects
from shared.contracts.events.common import PaymentMethod
from shared.logging import get_logger
from shared.settings import ConfigurationRefused

log = get_logger(__name__)
# each provider's kept-alive connections: as many as the effects worker has calls in flight
CONNECTIONS = effects.Policy.batch_size


@dataclass
class Deps:
    settings: PaymentSettings
    providers: dict[str, Provider]

    def provider(self, name: str | None = None) -> Provider:
        """The named provider; cash collected by couriers is refunded through the default."""
        return self.providers.get(name or "", self.providers[self.settings.default_provider])

    def provider_for(self, method: PaymentMethod) -> Provider:
        """The provider that opens payment sessions for `method`."""
        return self.providers[self.settings.provider_for(method.value)]


def make_deps(settings: PaymentSettings, providers: dict[str, Provider] | None = None) -> Deps:
    """The providers this deployment talks to: the sandbox outside production, unless told
    otherwise, and each real provider whose credentials are set. In production, refuses
    (ConfigurationRefused) a provider in use without credentials, and the sandbox."""
    if (refusal := production_refusal(settings)) is not None:
        raise ConfigurationRefused(refusal)
    if providers is None:
        providers = {}
        if settings.sandbox:
            providers[SandboxProvider.name] = SandboxProvider(
                secret=settings.webhook_secret.get_secret_value(),
                public_url=settings.base_url,
                webhook_url=f"{settings.base_url}/v1/webhooks/{SandboxProvider.name}",
                tolerance_seconds=settings.webhook_tolerance_seconds,
                concurrency=CONNECTIONS,
            )
        # --- Stripe ---
        if (stripe := stripe_provider(settings)) is not None:
            providers[StripeProvider.name] = stripe
        # --- end Stripe ---
        if (alipay := _alipay(settings)) is not None:
            providers[alipay.name] = alipay
    for name in settings.providers_in_use():
        if name not in providers:
            used_by = ", ".join(settings.methods_using(name))
            raise ConfigurationRefused(
                f"payment provider {name!r} (used by {used_by}) is not configured "
                f"(configured: {sorted(providers)})"
            )
    return Deps(settings, providers)


# --- Stripe ---
def stripe_provider(settings: PaymentSettings) -> StripeProvider | None:
    """Stripe, when its API key and webhook secret are set."""
    key, secret = settings.stripe_api_key, settings.stripe_webhook_secret
    if key is None or secret is None:
        return None
    if settings.env == "production" and key.get_secret_value().startswith("sk_test_"):
        log.warning("Stripe runs with a test-mode key: no real money moves")
    default_return = f"{settings.base_url}/orders/{{order_id}}"
    return StripeProvider(
        api_key=key.get_secret_value(),
        webhook_secret=secret.get_secret_value(),
        success_url=settings.stripe_success_url or default_return,
        cancel_url=settings.stripe_cancel_url,
        method_types=settings.stripe_method_types,
        api_base=settings.stripe_api_base,
        tolerance_seconds=settings.stripe_webhook_tolerance_seconds,
        timeout_seconds=settings.stripe_timeout_seconds,
        concurrency=CONNECTIONS,
    )


# --- end Stripe ---


def _alipay(settings: PaymentSettings) -> AlipayProvider | None:
    """Alipay when its app id is set; its keys are then required."""
    if not settings.alipay_app_id:
        return None
    if settings.alipay_private_key is None or not settings.alipay_public_key:
        raise ConfigurationRefused(
            "Alipay needs PAYMENT_ALIPAY_PRIVATE_KEY and PAYMENT_ALIPAY_PUBLIC_KEY"
        )
    return AlipayProvider(
        app_id=settings.alipay_app_id,
        private_key=settings.alipay_private_key.get_secret_value(),
        alipay_public_key=settings.alipay_public_key,
        gateway=settings.alipay_gateway,
        notify_url=settings.alipay_notify_url
        or f"{settings.base_url}/v1/webhooks/{AlipayProvider.name}",
        return_url=settings.alipay_return_url,
        product=settings.alipay_product,
        timeout_seconds=settings.alipay_timeout_seconds,
        concurrency=CONNECTIONS,
    )
