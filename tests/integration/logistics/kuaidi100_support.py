"""Logistics with its couriers booked and tracked through Kuaidi100, played by the stub
(tests/support/kuaidi100_stub.py) with credentials made here."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from services.logistics.app import build
from services.logistics.deps import make_deps
from services.logistics.settings import LogisticsSettings
from shared import effects
from shared.runtime import Runtime
from tests.integration.logistics.support import Logistics, of
from tests.support.events import new_id, paid, payload
from tests.support.http import OPS, client
from tests.support.kafka import Record
from tests.support.kuaidi100_stub import Kuaidi100Stub
from tests.support.polling import eventually
from tests.support.services import running, settings_for, skip_backlog

KEY = "kd" + secrets.token_hex(5)  # Kuaidi100 issues short keys
CUSTOMER = secrets.token_hex(16).upper()
SECRET = secrets.token_hex(16)
SALT = "salt-" + secrets.token_hex(12)


def stub() -> Kuaidi100Stub:
    return Kuaidi100Stub(KEY, CUSTOMER, SECRET)


def kuaidi100_settings(kd: Kuaidi100Stub, **overrides: Any) -> dict[str, Any]:
    """SF through Kuaidi100 (company `shunfeng`), nothing polled unless a test asks."""
    return {
        "couriers": ["sf"],
        "kuaidi100_couriers": {"sf": "shunfeng"},
        "kuaidi100_key": KEY,
        "kuaidi100_customer": CUSTOMER,
        "kuaidi100_secret": SECRET,
        "kuaidi100_salt": SALT,
        "kuaidi100_api_base": kd.base,
        "kuaidi100_sender": {
            "name": "Fulfil Shop",
            "mobile": "13900000000",
            "printAddr": "广东省深圳市南山区科技园1号",
        },
        "kuaidi100_accounts": {"shunfeng": {"partnerId": "7551234567"}},
        "kuaidi100_template_id": "tmpl-sf-100x150",
        "kuaidi100_timeout_seconds": 1.0,
        "tracking_poll_seconds": 0,
        **overrides,
    }


@asynccontextmanager
async def logistics(
    lg: Logistics, kd: Kuaidi100Stub, policy: effects.Policy | None = None, **overrides: Any
) -> AsyncIterator[Runtime]:
    """Logistics on the stub; its calls after commit under `policy` when one is given."""
    await skip_backlog(lg.infra.bootstrap, "logistics")
    settings = settings_for(
        LogisticsSettings, lg.infra.bootstrap, lg.database, **kuaidi100_settings(kd, **overrides)
    )
    deps = make_deps(settings)
    if policy is not None:
        deps.effects = policy
    async with running(build(settings, deps)) as up:
        lg._runtime = up
        yield up


async def paid_order(lg: Logistics) -> str:
    """An order reserved and paid: logistics books its parcel."""
    order_id = new_id("ord")
    sku = await lg.stocked(on_hand=3)
    await lg.reserve(order_id, sku, 1)
    await lg.send(paid(9_900), order_id)
    return order_id


async def shipped(lg: Logistics, order_id: str, timeout: float = 20.0) -> dict[str, Any]:
    [record] = await lg.tail.wait_for(of(order_id, "ShipmentShipped"), timeout=timeout)
    return payload(record)


def told(records: list[Record]) -> list[str | None]:
    return [r.type for r in records]


async def subscribed(kd: Kuaidi100Stub, number: str) -> dict[str, object]:
    async def probe() -> dict[str, object] | None:
        return kd.parcels[number].subscription

    found = await eventually(probe, what=f"{number} subscribed")
    return dict(found)


async def timeline(runtime: Runtime, order_id: str) -> dict[str, object]:
    async with client(runtime) as http:
        response = await http.get(f"/v1/orders/{order_id}/shipment", headers=OPS)
    assert response.status_code == 200, response.text
    return dict(response.json())
