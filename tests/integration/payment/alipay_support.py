"""The payment service with Alipay as its provider, against the local Alipay gateway stub."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from services.payment.app import build
from services.payment.settings import PaymentSettings
from shared.runtime import Runtime
from tests.integration.payment.support import Payment
from tests.support import db
from tests.support.alipay_stub import APP_ID, AlipayStub, Trade, new_key_pair
from tests.support.http import client as client_of
from tests.support.infra import Infra
from tests.support.kafka import TopicTail
from tests.support.polling import eventually
from tests.support.services import service


@dataclass
class Alipay:
    """The service (Alipay its default provider), what drives it, and the stub gateway."""

    pay: Payment
    stub: AlipayStub

    @property
    def runtime(self) -> Runtime:
        return self.pay.runtime

    async def opened(self, method: Any, amount: int) -> tuple[str, dict[str, Any]]:
        """A new order, its payment request, and the customer opening its cashier URL."""
        order_id, request = await self.pay.checkout(method, amount=amount)
        url = request["checkout_url"] or request["pay_link"]
        assert url.startswith(self.stub.gateway), url
        async with httpx.AsyncClient() as browser:
            cashier = await browser.get(url)
        assert cashier.status_code == 200, cashier.text
        return order_id, request

    def trade(self, request: dict[str, Any]) -> Trade:
        return self.stub.trades[request["attempt_id"]]

    async def post_notify(self, body: bytes) -> httpx.Response:
        headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
        return await self.pay.http.post("/v1/webhooks/alipay", content=body, headers=headers)

    async def effect(self, kind: str, key: str, status: str) -> dict[str, Any]:
        """The recorded provider call once it reaches `status`."""

        async def probe() -> dict[str, Any] | None:
            found = await db.rows(
                self.runtime, "SELECT * FROM effects WHERE kind = $1 AND key = $2", kind, key
            )
            return found[0] if found and found[0]["status"] == status else None

        row: dict[str, Any] = await eventually(probe, what=f"effect {kind} {status}")
        return row


@asynccontextmanager
async def alipay_service(
    infra: Infra, **overrides: Any
) -> AsyncIterator[tuple[Runtime, AlipayStub]]:
    """The service with Alipay as its default provider, on a fresh database, and the stub
    it talks to (module-scoped: the start-up is paid once)."""
    merchant_private, merchant_public = new_key_pair()
    stub = AlipayStub(merchant_public)
    await stub.start()
    dsn = await infra.create_database("payment")
    try:
        async with service(
            build,
            PaymentSettings,
            infra,
            dsn,
            default_provider="alipay",
            alipay_app_id=APP_ID,
            alipay_private_key=merchant_private,
            alipay_public_key=stub.public_pem,
            alipay_gateway=stub.gateway,
            alipay_timeout_seconds=0.5,
            refund_retry_base_seconds=0.2,
            refund_retry_max_seconds=0.5,
            effects_lease_seconds=1.0,
            effects_poll_seconds=0.2,
            **overrides,
        ) as runtime:
            stub.late_seconds = 1.0  # answers after our 0.5 s timeout
            yield runtime, stub
    finally:
        await stub.stop()


@asynccontextmanager
async def driving(
    infra: Infra, running: tuple[Runtime, AlipayStub], tail: TopicTail
) -> AsyncIterator[Alipay]:
    runtime, stub = running
    async with client_of(runtime) as http:
        yield Alipay(Payment(infra, runtime, http, tail), stub)
