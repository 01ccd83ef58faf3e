"""Wiring: builds the order service from its settings. Nothing connects at import time."""

from pathlib import Path

from services.order.coupon_views import router as coupon_router
from services.order.deps import make_deps
from services.order.handlers import HANDLERS, TIMERS
from services.order.metrics import refresh_orders
from services.order.ops_views import router as ops_router
from services.order.settings import OrderSettings
from services.order.stuck import watch_stuck
from services.order.views import router
from shared.runtime import Wiring

NAME = "order"
MIGRATIONS = Path(__file__).parent / "migrations"

WIRING = Wiring(
    NAME,
    MIGRATIONS,
    OrderSettings,
    make_deps,
    HANDLERS,
    TIMERS,
    routers=[router, ops_router, coupon_router],
    background=[watch_stuck],
    gauges=[refresh_orders],
)
build = WIRING.build
