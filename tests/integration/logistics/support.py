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
from shared.contracts.envelope import Envelope, Event
from shared.contracts.events.common import Address, Contact, PaymentMethod
from shared.contracts.events.order import OrderPlaced
from shared.runtime import Runtime
from tests.support import events
from tests.support.db import held
from tests.support.http import OPS, client
from tests.support.infra import Infra
from tests.support.kafka import Record, TopicTail
from tests.support.polling import eventually
from tests.support.services import service, skip_backlog

SECRET = "dev-carrier-webhook-secret"


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


def of(order_id: str, *types: str) -> events.Matcher:
    """Predicate: what logistics published about this order (of these types)."""
    return events.of(order_id, *types, topic="shipments.v1")


class Logistics:
    """Logistics under test on its own database, with what drives it: the broker (the tests
    play the order service and returns), its operations API and carriers, and the tail."""

    def __init__(self, infra: Infra, database: str, tail: TopicTail) -> None:
        self.infra, self.database, self.tail = infra, database, tail
        self._runtime: Runtime | None = None

    @asynccontextmanager
    async def running(self, *, http: bool = True, **overrides: Any) -> AsyncIterator[Runtime]:
        """Logistics started with `overrides`; it sees only what is published from now on."""
        await skip_backlog(self.infra.bootstrap, "logistics")
        async with service(
            build, LogisticsSettings, self.infra, self.database, http=http, **overrides
        ) as up:
            self._runtime = up
            yield up

    @property
    def runtime(self) -> Runtime:
        assert self._runtime is not None, "logistics is not running"
        return self._runtime

    async def send(self, event: Event, order_id: str) -> Envelope:
        return await events.send(self.infra, event, order_id)

    async def resend(self, *envelopes: Envelope) -> None:
        await events.resend(self.infra, *envelopes)

    async def before_its_order(self, event: Event, order_id: str, order: OrderPlaced) -> None:
        """`event` sent for an order logistics has not seen placed, held until it is (shared.held),
        then the order placed."""
        await self.send(event, order_id)
        what = f"the {type(event).__name__} held"
        await eventually(lambda: held(self.runtime, order_id), what=what)
        await self.send(order, order_id)

    async def put_stock(self, sku: str, on_hand: int, threshold: int = 0) -> None:
        async with client(self.runtime) as http:
            body = {"on_hand": on_hand, "low_stock_threshold": threshold}
            body |= {"name": "Tee", "variant": "M"}
            response = await http.put(f"/v1/stock/{sku}", json=body, headers=OPS)
        assert response.status_code == 200, response.text

    async def stocked(self, on_hand: int, threshold: int = 0) -> str:
        """A new SKU with `on_hand` units on the shelf; its code."""
        sku = events.new_id("SKU")
        await self.put_stock(sku, on_hand, threshold)
        return sku

    async def stock(self, sku: str) -> dict[str, Any]:
        async with client(self.runtime) as http:
            response = await http.get(f"/v1/stock/{sku}", headers=OPS)
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def reserve(self, order_id: str, sku: str, quantity: int) -> Record:
        """The order placed for `quantity` of the SKU, and the reservation logistics told."""
        await self.send(placed([(sku, quantity)]), order_id)
        [reserved] = await self.tail.wait_for(of(order_id, "StockReserved"))
        return reserved

    async def settled_stock(self, sku: str) -> dict[str, Any]:
        """The SKU's stock once logistics took all that came before: a marker order of one
        unit, reserved after it, comes last (and is counted in what the answer reserves)."""
        await self.reserve(events.new_id("ord"), sku, 1)
        return await self.stock(sku)

    def told(self, order_id: str) -> list[str | None]:
        """The types of what logistics has published about the order so far, in order."""
        return [r.type for r in events.seen(self.tail, order_id, topic="shipments.v1")]

    async def post_checkpoint(
        self,
        courier: str,
        tracking: str,
        checkpoint_id: str,
        at: datetime,
        status: str,
        city: str = "Hangzhou",
        secret: str = SECRET,
        **extra: Any,
    ) -> httpx.Response:
        """A carrier's signed report of a checkpoint of the parcel (`extra`: more fields,
        e.g. the `collected` cash of a delivery)."""
        body = json.dumps(
            {
                "tracking_number": tracking,
                "checkpoint_id": checkpoint_id,
                "checkpoint_at": at.isoformat(),
                "city": city,
                "status": status,
                "description": f"{status} in {city}",
                **extra,
            }
        ).encode()
        headers = {"Content-Type": "application/json", signing.HEADER: signing.sign(secret, body)}
        async with client(self.runtime) as http:
            return await http.post(
                f"/v1/webhooks/carriers/{courier}", content=body, headers=headers
            )
