"""Events about an order the service does not know are held (`shared.held`), and handled
when the order is placed, in the transaction that places it."""

from __future__ import annotations

import uuid
from datetime import timedelta

from services.order import steps
from services.order.domain import placing
from services.order.handlers import HANDLERS
from shared.contracts.events.common import Address, Contact, Locale, PaymentMethod
from shared.runtime import Runtime
from tests.integration.order.support import get, kinds, succeeded
from tests.support.db import held, until_held
from tests.support.events import send_all


async def test_a_payment_before_its_order_is_applied_when_the_order_is_placed(
    service: Runtime,
) -> None:
    order_id = f"ord_{uuid.uuid4().hex[:24]}"
    await send_all(service, order_id, succeeded("early"))
    assert await until_held(service, order_id, 1) == ["PaymentSucceeded"]

    async with service.unit() as unit:
        order = placing.new_order(
            order_id=order_id,
            customer_id=None,
            items=[placing.Item("TEE", "Tee", None, 2, 6_400)],
            currency="CNY",
            contact=Contact(email="li.wei@example.com"),
            address=Address(recipient="Li", line1="1 Rd", city="Shanghai", country="CN"),
            locale=Locale.ZH_CN,
            time_zone=None,
            method=PaymentMethod.WALLET,
            gift_message=None,
            now=unit.now,
            payment_window=timedelta(hours=72),
        )
        placed = await steps.place(unit, order, None, HANDLERS)

    assert placed.order.status == "paid", "the held payment is applied as the order is placed"
    shown = await get(service, order_id)
    assert shown["status"] == "paid" and sorted(kinds(shown)) == ["paid", "placed"]
    assert await held(service, order_id) == []
