"""Wiring: builds the payment service from its settings. Nothing connects at import time."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter

from services.payment.deps import PaymentDeps
from services.payment.handlers import HANDLERS, TIMERS
from services.payment.providers import Provider
from services.payment.providers.sandbox import SandboxProvider
from services.payment.providers.sandbox_views import router as sandbox_router
from services.payment.refunds import PAYOUT, REFUND
from services.payment.sessions import OPENER, SESSION
from services.payment.settings import PaymentSettings
from services.payment.views import router
from shared import effects
from shared.runtime import Background, ServiceDefinition

NAME = "payment"
MIGRATIONS = Path(__file__).parent / "migrations"


def providers_from(settings: PaymentSettings) -> dict[str, Provider]:
    """The payment providers this deployment talks to (real ones are added here)."""
    providers: dict[str, Provider] = {}
    if settings.sandbox:
        providers[SandboxProvider.name] = SandboxProvider(
            secret=settings.webhook_secret.get_secret_value(),
            public_url=settings.base_url,
            webhook_url=f"{settings.base_url}/v1/webhooks/{SandboxProvider.name}",
            tolerance_seconds=settings.webhook_tolerance_seconds,
        )
    return providers


def deps_from(settings: PaymentSettings) -> PaymentDeps:
    providers = providers_from(settings)
    if settings.default_provider not in providers:
        raise ValueError(
            f"payment provider {settings.default_provider!r} is not configured "
            f"(configured: {sorted(providers)})"
        )
    return PaymentDeps(
        providers=providers,
        default_provider=settings.default_provider,
        refund_retry_base_seconds=settings.refund_retry_base_seconds,
        refund_retry_max_seconds=settings.refund_retry_max_seconds,
        refund_max_attempts=settings.refund_max_attempts,
    )


def effects_policy(settings: PaymentSettings, deps: PaymentDeps) -> effects.Policy:
    """The provider calls the payment service makes after commit, and how they are retried."""
    return effects.Policy(
        max_attempts=deps.refund_max_attempts,
        backoff_seconds=deps.refund_retry_base_seconds,
        backoff_max_seconds=deps.refund_retry_max_seconds,
        lease_seconds=settings.effects_lease_seconds,
        poll_seconds=settings.effects_poll_seconds,
        performers={REFUND: PAYOUT, SESSION: OPENER},
    )


def build(
    settings: PaymentSettings | None = None, deps: PaymentDeps | None = None
) -> ServiceDefinition:
    settings = settings or PaymentSettings()
    deps = deps or deps_from(settings)
    routers: list[APIRouter] = [router]
    policy = effects_policy(settings, deps)
    background: list[Background] = [effects.worker(policy)]
    sandbox = deps.providers.get(SandboxProvider.name)
    if isinstance(sandbox, SandboxProvider):
        routers.append(sandbox_router)
        background.append(sandbox.run)
    return ServiceDefinition(
        name=NAME,
        settings=settings,
        migrations_dir=MIGRATIONS,
        handlers=HANDLERS,
        timers=TIMERS,
        routers=routers,
        deps=deps,
        background=background,
    )
