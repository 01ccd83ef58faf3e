"""Wiring: builds the logistics service from its settings. Nothing connects at import time."""

from pathlib import Path

from services.logistics.carriers import sandbox_routes
from services.logistics.catalogue import load_on_start
from services.logistics.deps import Deps, make_deps
from services.logistics.handlers import HANDLERS, TIMERS
from services.logistics.settings import LogisticsSettings
from services.logistics.shipping import effects_policy
from services.logistics.views import router
from shared import effects
from shared.runtime import ServiceDefinition

NAME = "logistics"
MIGRATIONS = Path(__file__).parent / "migrations"


def build(settings: LogisticsSettings | None = None, deps: Deps | None = None) -> ServiceDefinition:
    settings = settings or LogisticsSettings()
    deps = deps or make_deps(settings)
    routers = [router, sandbox_routes.router] if settings.sandbox else [router]
    return ServiceDefinition(
        name=NAME,
        settings=settings,
        migrations_dir=MIGRATIONS,
        handlers=HANDLERS,
        timers=TIMERS,
        routers=routers,
        deps=deps,
        background=[
            load_on_start,
            sandbox_routes.auto_advance,
            effects.worker(effects_policy(deps)),
        ],
    )
