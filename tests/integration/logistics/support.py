"""Driving the logistics service in tests: its settings, upstream events, stock and carriers."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx

from services.logistics.app import build
from services.logistics.settings import LogisticsSettings
from shared import signing
from shared.contracts.envelope import Envelope, Event, Money
from shared.contracts.events.common import Address, Contact, Locale, OrderLine, PaymentMethod
from shared.contracts.events.order import OrderPaid, OrderPlaced
from shared.contracts.registry import consumed_by
from shared.runtime import Runtime
from tests.support.infra import Infra
from tests.support.kafka import Record, publish, start_group_at_end
from tests.support.services import base_url, running, settings_for

OPS = {"Authorization": "Bearer dev-ops-key"}
SECRET = "dev-carrier-webhook-secret"
GROUP = "fulfil-logistics-test"


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


async def skip_backlog(bootstrap: str) -> None:
    """A test sees only what it publishes, not what other suites left behind."""
    await start_group_at_end(bootstrap, GROUP, [t.name for t in consumed_by("logistics")])


@asynccontextmanager
async def logistics(
    infra: Infra, database: str, *, http: bool = True, **overrides: Any
) -> AsyncIterator[Runtime]:
    await skip_backlog(infra.bootstrap)
    settings = settings_for(LogisticsSettings, infra.bootstrap, database, **overrides)
    async with running(build(settings), http=http) as runtime:
        yield runtime


def client(runtime: Runtime) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base_url(runtime), timeout=10)


async def put_stock(runtime: Runtime, sku: str, on_hand: int, threshold: int = 0) -> None:
    async with client(runtime) as http:
        body = {"on_hand": on_hand, "low_stock_threshold": threshold, "name": "Tee", "variant": "M"}
        response = await http.put(f"/v1/stock/{sku}", json=body, headers=OPS)
    assert response.status_code == 200, response.text


async def stock(runtime: Runtime, sku: str) -> dict[str, Any]:
    async with client(runtime) as http:
        response = await http.get(f"/v1/stock/{sku}", headers=OPS)
    assert response.status_code == 200, response.text
    return dict(response.json())


def placed(
    lines: list[tuple[str, int]],
    *,
    method: PaymentMethod = PaymentMethod.CARD,
    region: str = "Zhejiang",
) -> OrderPlaced:
    order_lines = tuple(
        OrderLine(
            line_id=f"l{i}",
            sku=sku,
            name="Cotton T-shirt",
            variant="White / M",
            quantity=quantity,
            unit_price=Money(amount=9_900, currency="CNY"),
        )
        for i, (sku, quantity) in enumerate(lines, start=1)
    )
    total = sum(line.unit_price.amount * line.quantity for line in order_lines)
    return OrderPlaced(
        customer_id=None,
        lines=order_lines,
        total=Money(amount=total, currency="CNY"),
        contact=Contact(phone="+8613800138000"),
        address=Address(
            recipient="Li Wei", line1="1 Xihu Road", city="Hangzhou", region=region, country="CN"
        ),
        locale=Locale.ZH_CN,
        time_zone="Asia/Shanghai",
        payment_method=method,
        payment_due_at=None,
        order_url="https://shop.example/orders/x",
    )


def paid(amount: int = 9_900) -> OrderPaid:
    return OrderPaid(
        amount=Money(amount=amount, currency="CNY"),
        payment_method=PaymentMethod.CARD,
        paid_at=datetime.now(UTC),
    )


async def send(infra: Infra, event: Event, order_id: str, producer: str = "order") -> Envelope:
    envelope = Envelope.wrap(event, producer=producer, order_id=order_id)
    await publish(infra.bootstrap, envelope)
    return envelope


def of(order_id: str, *types: str) -> Any:
    """Predicate: what logistics published about this order (of these types)."""

    def match(record: Record) -> bool:
        return (
            record.topic == "shipments.v1"
            and record.key == order_id.encode()
            and (not types or record.type in types)
        )

    return match


def payload(record: Record) -> dict[str, Any]:
    return dict(record.json()["payload"])


async def post_checkpoint(
    runtime: Runtime,
    courier: str,
    tracking: str,
    checkpoint_id: str,
    at: datetime,
    status: str,
    city: str = "Hangzhou",
    secret: str = SECRET,
) -> httpx.Response:
    body = json.dumps(
        {
            "tracking_number": tracking,
            "checkpoint_id": checkpoint_id,
            "checkpoint_at": at.isoformat(),
            "city": city,
            "status": status,
            "description": f"{status} in {city}",
        }
    ).encode()
    headers = {"Content-Type": "application/json", signing.HEADER: signing.sign(secret, body)}
    async with client(runtime) as http:
        return await http.post(f"/v1/webhooks/carriers/{courier}", content=body, headers=headers)
