"""Wiring: builds the notify service from its settings. Nothing connects at import time."""

from pathlib import Path

from services.notify.deps import Deps, make_deps
from services.notify.handlers import HANDLERS, TIMERS
from services.notify.optout_views import router as optout_router
from services.notify.sender import run_sender
from services.notify.settings import NotifySettings
from services.notify.views import router
from shared.runtime import ServiceDefinition

NAME = "notify"
MIGRATIONS = Path(__file__).parent / "migrations"


def build(
    settings: NotifySettings | None = None, deps: Deps | None = None
) -> ServiceDefinition[Deps]:
    settings = settings or NotifySettings()
    deps = deps or make_deps(settings)
    return ServiceDefinition(
        NAME,
        settings,
        MIGRATIONS,
        deps,
        handlers=HANDLERS,
        timers=TIMERS,
        routers=[router, optout_router],
        background=[run_sender],
    )
