"""Wiring: builds the returns service from its settings. Nothing connects at import time."""

from pathlib import Path

from services.returns.handlers import HANDLERS, TIMERS
from services.returns.settings import ReturnsSettings
from services.returns.views import router
from services.returns.workflow import Deps
from shared.runtime import ServiceDefinition

NAME = "returns"
MIGRATIONS = Path(__file__).parent / "migrations"


def build(settings: ReturnsSettings | None = None, deps: Deps | None = None) -> ServiceDefinition:
    """The returns service; it has no outside adapters, only the policy read from settings."""
    settings = settings or ReturnsSettings()
    return ServiceDefinition(
        name=NAME,
        settings=settings,
        migrations_dir=MIGRATIONS,
        handlers=HANDLERS,
        timers=TIMERS,
        routers=[router],
        deps=deps or Deps(policy=settings.policy()),
    )
