"""Wiring: builds the order service from its settings. Nothing connects at import time."""

from pathlib import Path

from services.order.deps import Deps, make_deps
from services.order.handlers import HANDLERS, TIMERS
from services.order.settings import OrderSettings
from services.order.views import router
from shared.runtime import ServiceDefinition

NAME = "order"
MIGRATIONS = Path(__file__).parent / "migrations"


def build(
    settings: OrderSettings | None = None, deps: Deps | None = None
) -> ServiceDefinition[Deps]:
    settings = settings or OrderSettings()
    deps = deps or make_deps(settings)
    return ServiceDefinition(
        NAME, settings, MIGRATIONS, deps, handlers=HANDLERS, timers=TIMERS, routers=[router]
    )
