"""Wiring: builds the logistics service from its settings. Nothing connects at import time."""

from pathlib import Path

from services.logistics.carriers import sandbox_routes
from services.logistics.catalogue import load_on_start
from services.logistics.deps import Deps, make_deps
from services.logistics.handlers import HANDLERS, TIMERS
from services.logistics.settings import LogisticsSettings
from services.logistics.steps.shipping import effects_policy
from services.logistics.views import router
from shared import effects
from shared.runtime import ServiceDefinition

NAME = "logistics"
MIGRATIONS = Path(__file__).parent / "migrations"


def build(
    settings: LogisticsSettings | None = None, deps: Deps | None = None
) -> ServiceDefinition[Deps]:
    settings = settings or LogisticsSettings()
    deps = deps or make_deps(settings)
    sandbox = [sandbox_routes.router] if settings.sandbox else []
    return ServiceDefinition(
        NAME,
        settings,
        MIGRATIONS,
        deps,
        handlers=HANDLERS,
        timers=TIMERS,
        routers=[router, *sandbox],
        background=[
            load_on_start,
            sandbox_routes.auto_advance,
            effects.worker(effects_policy(deps)),
        ],
    )
