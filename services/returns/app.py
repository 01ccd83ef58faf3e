"""Wiring: builds the returns service from its settings. Nothing connects at import time."""

from pathlib import Path

from services.returns.deps import Deps, make_deps
from services.returns.handlers import HANDLERS, TIMERS
from services.returns.settings import ReturnsSettings
from services.returns.views import router
from shared.runtime import ServiceDefinition

NAME = "returns"
MIGRATIONS = Path(__file__).parent / "migrations"


def build(
    settings: ReturnsSettings | None = None, deps: Deps | None = None
) -> ServiceDefinition[Deps]:
    settings = settings or ReturnsSettings()
    deps = deps or make_deps(settings)
    return ServiceDefinition(
        NAME, settings, MIGRATIONS, deps, handlers=HANDLERS, timers=TIMERS, routers=[router]
    )
