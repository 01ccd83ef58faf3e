"""Wiring: builds the payment service from its settings. Nothing connects at import time."""

from pathlib import Path
from typing import Any

from services.payment.handlers import HANDLERS, TIMERS
from services.payment.settings import PaymentSettings
from services.payment.views import router
from shared.runtime import ServiceDefinition

NAME = "payment"
MIGRATIONS = Path(__file__).parent / "migrations"


def build(settings: PaymentSettings | None = None, deps: Any = None) -> ServiceDefinition:
    return ServiceDefinition(
        name=NAME,
        settings=settings or PaymentSettings(),
        migrations_dir=MIGRATIONS,
        handlers=HANDLERS,
        timers=TIMERS,
        routers=[router],
        deps=deps,
    )
