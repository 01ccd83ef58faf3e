"""Pay-for-me through Alipay's page pay, against its local gateway: the shared link leads
to Alipay's cashier, where the friend pays, and the notify pays the order."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest_asyncio

from shared.contracts.events.common import PaymentMethod
from shared.runtime import Runtime
from tests.integration.payment.alipay_support import Alipay, alipay_service, driving
from tests.support.alipay_stub import AlipayStub
from tests.support.infra import Infra
from tests.support.kafka import TopicTail


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def running(infra: Infra) -> AsyncIterator[tuple[Runtime, AlipayStub]]:
    async with alipay_service(infra) as started:
        yield started


@pytest_asyncio.fixture(loop_scope="session")
async def alipay(
    infra: Infra, running: tuple[Runtime, AlipayStub], tail: TopicTail
) -> AsyncIterator[Alipay]:
    async with driving(infra, running, tail) as driven:
        yield driven


async def test_the_link_leads_to_alipays_cashier_where_a_friend_pays(alipay: Alipay) -> None:
    order_id, requested = await alipay.pay.checkout(PaymentMethod.PAY_FOR_ME, amount=6_600)
    base = alipay.runtime.settings.base_url
    assert requested["pay_link"].startswith(f"{base}/v1/pay/{order_id}.")
    assert requested["checkout_url"].startswith(alipay.stub.gateway), "Alipay's page pay"

    landed = await alipay.pay.http.get(httpx.URL(requested["pay_link"]).path)
    assert (landed.status_code, landed.headers["location"]) == (303, requested["checkout_url"])
    async with httpx.AsyncClient() as friends_browser:
        cashier = await friends_browser.get(landed.headers["location"])
    assert cashier.status_code == 200, cashier.text

    alipay.stub.buyer_pays(requested["attempt_id"])
    [paid] = await alipay.pay.published(order_id, "PaymentSucceeded")
    assert (paid["method"], paid["provider"], paid["amount"]["amount"]) == (
        "pay_for_me",
        "alipay",
        6_600,
    )
