"""Wiring: builds the returns service from its settings. Nothing connects at import time."""

from pathlib import Path

from services.returns.deps import make_deps
from services.returns.exchange_views import router as exchange_router
from services.returns.handlers import HANDLERS, TIMERS
from services.returns.queue import refresh_awaiting
from services.returns.queue import router as queue_router
from services.returns.settings import ReturnsSettings
from services.returns.views import router
from shared.runtime import Wiring

NAME = "returns"
MIGRATIONS = Path(__file__).parent / "migrations"

WIRING = Wiring(
    NAME,
    MIGRATIONS,
    ReturnsSettings,
    make_deps,
    HANDLERS,
    TIMERS,
    routers=[router, exchange_router, queue_router],
    gauges=[refresh_awaiting],
)
build = WIRING.build
