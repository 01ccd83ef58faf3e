"""Wiring: builds the returns service from its settings. Nothing connects at import time."""

from pathlib import Path
from typing import Any

from services.returns.handlers import HANDLERS, TIMERS
from services.returns.settings import ReturnsSettings
from services.returns.views import router
from shared.runtime import ServiceDefinition

NAME = "returns"
MIGRATIONS = Path(__file__).parent / "migrations"


def build(settings: ReturnsSettings | None = None, deps: Any = None) -> ServiceDefinition:
    return ServiceDefinition(
        name=NAME,
        settings=settings or ReturnsSettings(),
        migrations_dir=MIGRATIONS,
        handlers=HANDLERS,
        timers=TIMERS,
        routers=[router],
        deps=deps,
    )
