"""What is about logistics alone in its tests: its stock, its orders' lines, what it
published on shipments.v1, and its carriers' signed checkpoints."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import httpx

from services.logistics.app import build
from services.logistics.settings import LogisticsSettings
from shared import signing
from shared.contracts.events.common import Address, Contact, PaymentMethod
from shared.contracts.events.order import OrderPlaced
from shared.runtime import Runtime
from tests.support import events
from tests.support.http import OPS, client
from tests.support.infra import Infra
from tests.support.kafka import Record, TopicTail
from tests.support.services import service, skip_backlog

SECRET = "dev-carrier-webhook-secret"


@asynccontextmanager
async def logistics(
    infra: Infra, database: str, *, http: bool = True, **overrides: Any
) -> AsyncIterator[Runtime]:
    """Logistics on `database`; it sees only what is published from now on."""
    await skip_backlog(infra.bootstrap, "logistics")
    async with service(build, LogisticsSettings, infra, database, http=http, **overrides) as up:
        yield up


async def put_stock(runtime: Runtime, sku: str, on_hand: int, threshold: int = 0) -> None:
    async with client(runtime) as http:
        body = {"on_hand": on_hand, "low_stock_threshold": threshold, "name": "Tee", "variant": "M"}
        response = await http.put(f"/v1/stock/{sku}", json=body, headers=OPS)
    assert response.status_code == 200, response.text


async def stocked(runtime: Runtime, on_hand: int, threshold: int = 0) -> str:
    """A new SKU with `on_hand` units on the shelf; its code."""
    sku = events.new_id("SKU")
    await put_stock(runtime, sku, on_hand, threshold)
    return sku


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
    return events.placed(
        *(
            events.line(
                sku, quantity, 9_900, line_id=f"l{i}", name="Cotton T-shirt", variant="White / M"
            )
            for i, (sku, quantity) in enumerate(lines, start=1)
        ),
        method=method,
        contact=Contact(phone="+8613800138000"),
        address=Address(
            recipient="Li Wei", line1="1 Xihu Road", city="Hangzhou", region=region, country="CN"
        ),
    )


async def reserve(infra: Infra, tail: TopicTail, order_id: str, sku: str, quantity: int) -> Record:
    """The order placed for `quantity` of the SKU, and the reservation logistics told."""
    await events.send(infra, placed([(sku, quantity)]), order_id)
    [reserved] = await tail.wait_for(of(order_id, "StockReserved"))
    return reserved


async def settled_stock(
    infra: Infra, runtime: Runtime, tail: TopicTail, sku: str
) -> dict[str, Any]:
    """The SKU's stock once logistics took all that came before: a marker order of one unit,
    reserved after it, comes last (and is counted in what the answer reserves)."""
    await reserve(infra, tail, events.new_id("ord"), sku, 1)
    return await stock(runtime, sku)


def of(order_id: str, *types: str) -> events.Matcher:
    """Predicate: what logistics published about this order (of these types)."""
    return events.of(order_id, *types, topic="shipments.v1")


def told(tail: TopicTail, order_id: str) -> list[str | None]:
    """The types of what logistics has published about the order so far, in order."""
    return [r.type for r in events.seen(tail, order_id, topic="shipments.v1")]


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
