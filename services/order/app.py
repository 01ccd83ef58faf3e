"""Wiring: builds the order service from its settings. Nothing connects at import time."""

from pathlib import Path

from services.order.handlers import HANDLERS, TIMERS, OrderDeps
from services.order.settings import OrderSettings
from services.order.views import router
from shared.runtime import ServiceDefinition

NAME = "order"
MIGRATIONS = Path(__file__).parent / "migrations"


def build(
    settings: OrderSettings | None = None, deps: OrderDeps | None = None
) -> ServiceDefinition:
    settings = settings or OrderSettings()
    return ServiceDefinition(
        name=NAME,
        settings=settings,
        migrations_dir=MIGRATIONS,
        handlers=HANDLERS,
        timers=TIMERS,
        routers=[router],
        deps=deps or OrderDeps(settings),
    )
