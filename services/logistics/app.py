"""Wiring: builds the logistics service from its settings. Nothing connects at import time."""

from pathlib import Path
from typing import Any

from services.logistics.handlers import HANDLERS, TIMERS
from services.logistics.settings import LogisticsSettings
from services.logistics.views import router
from shared.runtime import ServiceDefinition

NAME = "logistics"
MIGRATIONS = Path(__file__).parent / "migrations"


def build(settings: LogisticsSettings | None = None, deps: Any = None) -> ServiceDefinition:
    return ServiceDefinition(
        name=NAME,
        settings=settings or LogisticsSettings(),
        migrations_dir=MIGRATIONS,
        handlers=HANDLERS,
        timers=TIMERS,
        routers=[router],
        deps=deps,
    )
