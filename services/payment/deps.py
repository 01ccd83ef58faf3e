"""What the payment service's steps need from the outside: its settings and its providers."""

from __future__ import annotations

from dataclasses import dataclass

from services.payment.providers import Provider
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
    if settings.default_provider not in providers:
        raise ValueError(
            f"payment provider {settings.default_provider!r} is not configured "
            f"(configured: {sorted(providers)})"
        )
    return Deps(settings, providers)
