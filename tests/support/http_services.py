"""All five services running side by side, each on its own database, for HTTP-edge tests."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from services.logistics.app import build as build_logistics
from services.logistics.settings import LogisticsSettings
from services.notify.app import build as build_notify
from services.notify.settings import NotifySettings
from services.order.app import build as build_order
from services.order.settings import OrderSettings
from services.payment.app import build as build_payment
from services.payment.settings import PaymentSettings
from services.returns.app import build as build_returns
from services.returns.settings import ReturnsSettings
from shared.runtime import Runtime
from tests.support.infra import Infra
from tests.support.services import running, settings_for

BUILDERS: dict[str, tuple[Callable[..., Any], type[Any]]] = {
    "order": (build_order, OrderSettings),
    "payment": (build_payment, PaymentSettings),
    "logistics": (build_logistics, LogisticsSettings),
    "returns": (build_returns, ReturnsSettings),
    "notify": (build_notify, NotifySettings),
}


@contextlib.asynccontextmanager
async def all_services(infra: Infra) -> AsyncIterator[dict[str, Runtime]]:
    async with contextlib.AsyncExitStack() as stack:
        runtimes = {}
        for name, (build, settings_cls) in BUILDERS.items():
            dsn = await infra.create_database(name)
            settings = settings_for(settings_cls, infra.bootstrap, dsn)
            runtimes[name] = await stack.enter_async_context(running(build(settings)))
        yield runtimes
