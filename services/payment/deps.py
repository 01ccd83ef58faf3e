"""What the payment service's steps need from the outside: its settings and its providers."""

from __future__ import annotations

from dataclasses import dataclass

from services.payment.providers import Provider
from services.payment.providers.alipay import AlipayProvider
from services.payment.providers.sandbox import SandboxProvider
from services.payment.settings import PaymentSettings


@dataclass
class Deps:
    settings: PaymentSettings
    providers: dict[str, Provider]

    def provider(self, name: str | None = None) -> Provider:
        """The named provider; cash collected by couriers is refunded through the default."""
        return self.providers.get(name or "", self.providers[self.settings.default_provider])


def make_deps(settings: PaymentSettings, providers: dict[str, Provider] | None = None) -> Deps:
    """The providers this deployment talks to (real ones are added here): the sandbox
    outside production, unless told otherwise."""
    if providers is None:
        providers = {}
        if settings.sandbox:
            providers[SandboxProvider.name] = SandboxProvider(
                secret=settings.webhook_secret.get_secret_value(),
                public_url=settings.base_url,
                webhook_url=f"{settings.base_url}/v1/webhooks/{SandboxProvider.name}",
                tolerance_seconds=settings.webhook_tolerance_seconds,
            )
        alipay = _alipay(settings)
        if alipay is not None:
            providers[alipay.name] = alipay
    if settings.default_provider not in providers:
        raise ValueError(
            f"payment provider {settings.default_provider!r} is not configured "
            f"(configured: {sorted(providers)})"
        )
    return Deps(settings, providers)


def _alipay(settings: PaymentSettings) -> AlipayProvider | None:
    """Alipay when its app id is set; its keys are then required."""
    if not settings.alipay_app_id:
        return None
    if settings.alipay_private_key is None or not settings.alipay_public_key:
        raise ValueError("Alipay needs PAYMENT_ALIPAY_PRIVATE_KEY and PAYMENT_ALIPAY_PUBLIC_KEY")
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
    )
