"""Wiring: builds the payment service from its settings. Nothing connects at import time."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter

from services.payment.deps import Deps, make_deps
from services.payment.handlers import HANDLERS, TIMERS
from services.payment.pay_link_views import router as pay_link_router
from services.payment.providers.alipay import AlipayProvider
from services.payment.providers.sandbox import SandboxProvider
from services.payment.providers.sandbox_views import router as sandbox_router
from services.payment.providers.stripe import StripeProvider
from services.payment.settings import PaymentSettings
from services.payment.steps import effects_policy
from services.payment.steps.reconcile import run_reconcile
from services.payment.views import router
from shared import effects
from shared.runtime import Background, Edges, Wiring

NAME = "payment"
MIGRATIONS = Path(__file__).parent / "migrations"


def _effects_and_sandbox(settings: PaymentSettings, deps: Deps) -> Edges:
    routers: list[APIRouter] = []
    background: list[Background] = [effects.worker(effects_policy(deps)), run_reconcile]
    sandbox = deps.providers.get(SandboxProvider.name)
    if isinstance(sandbox, SandboxProvider):  # its pages, and the callbacks it sends
        routers.append(sandbox_router)
        background.append(sandbox.run)
    stripe = deps.providers.get(StripeProvider.name)
    if isinstance(stripe, StripeProvider):  # closes its connections on shutdown
        background.append(stripe.run)
    alipay = deps.providers.get(AlipayProvider.name)
    if isinstance(alipay, AlipayProvider):  # the same
        background.append(alipay.run)
    return routers, background


WIRING = Wiring(
    NAME,
    MIGRATIONS,
    PaymentSettings,
    make_deps,
    HANDLERS,
    TIMERS,
    routers=[router, pay_link_router],
    extras=_effects_and_sandbox,
)
build = WIRING.build
