"""Wiring: builds the notify service from its settings. Nothing connects at import time."""

from pathlib import Path
from typing import Any

from services.notify.handlers import HANDLERS, TIMERS
from services.notify.settings import NotifySettings
from services.notify.views import router
from shared.runtime import ServiceDefinition

NAME = "notify"
MIGRATIONS = Path(__file__).parent / "migrations"


def build(settings: NotifySettings | None = None, deps: Any = None) -> ServiceDefinition:
    return ServiceDefinition(
        name=NAME,
        settings=settings or NotifySettings(),
        migrations_dir=MIGRATIONS,
        handlers=HANDLERS,
        timers=TIMERS,
        routers=[router],
        deps=deps,
    )
