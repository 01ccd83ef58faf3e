"""Wiring: builds the logistics service from its settings. Nothing connects at import time."""

import asyncio
from pathlib import Path

from services.logistics.backorder_views import router as backorder_router
from services.logistics.carriers import sandbox_routes
from services.logistics.catalogue import load_on_start
from services.logistics.delay_views import router as delay_router
from services.logistics.deps import Deps, make_deps
from services.logistics.handlers import HANDLERS, TIMERS
from services.logistics.ops_views import router as ops_router
from services.logistics.price_views import router as price_router
from services.logistics.settings import LogisticsSettings
from services.logistics.steps.shipping import effects_policy
from services.logistics.steps.tracking import poll_silent
from services.logistics.views import router
from services.logistics.warehouse_views import router as warehouse_router
from shared import effects
from shared.runtime import Edges, Wiring
from shared.unit import Service

NAME = "logistics"
MIGRATIONS = Path(__file__).parent / "migrations"


def _sandbox_and_effects(settings: LogisticsSettings, deps: Deps) -> Edges:
    sandbox = [sandbox_routes.router] if settings.sandbox else []
    return sandbox, [effects.worker(effects_policy(deps)), _close_clients]


async def _close_clients(runtime: Service[Deps]) -> None:
    """Background task: on shutdown, closes the couriers' kept-alive connections."""
    try:
        await asyncio.Event().wait()
    finally:
        for http in (runtime.deps.kuaidi100_http, runtime.deps.sandbox_http):
            if http is not None:
                await http.aclose()


WIRING = Wiring(
    NAME,
    MIGRATIONS,
    LogisticsSettings,
    make_deps,
    HANDLERS,
    TIMERS,
    routers=[router, ops_router, price_router, warehouse_router, delay_router, backorder_router],
    background=[load_on_start, sandbox_routes.auto_advance, poll_silent],
    extras=_sandbox_and_effects,
)
build = WIRING.build
