"""Price-difference refunds on the real broker and database: returns learns the catalogue's
prices from PriceChanged and reckons the difference itself, by rule within the protection
time after the payment, for operations otherwise."""

from __future__ import annotations

from datetime import timedelta

from shared.contracts.envelope import Envelope, Money
from shared.contracts.events.common import PaymentMethod
from shared.contracts.events.logistics import PriceChanged
from shared.contracts.events.order import OrderPaid
from shared.runtime import Runtime
from tests.integration.returns.support import CUP, TEA, ask, until_order, until_status
from tests.support import events
from tests.support.events import bootstrap_of, new_id, new_order_id, now, send
from tests.support.kafka import publish
from tests.support.polling import eventually


async def priced(returns: Runtime, sku: str, amount: int) -> None:
    change = PriceChanged(sku=sku, price=Money(amount=amount, currency="CNY"), changed_at=now())
    await publish(bootstrap_of(returns), Envelope.wrap(change, producer="logistics", order_id=None))

    async def known() -> bool:
        async with returns.db.acquire() as conn:
            return bool(
                await conn.fetchval(
                    "SELECT true FROM price_history WHERE sku = $1 AND amount = $2", sku, amount
                )
            )

    await eventually(known, what=f"price of {sku} known to returns")


async def paid_order(returns: Runtime, sku: str, paid_days_ago: float) -> str:
    order_id = new_order_id()
    tea = TEA.model_copy(update={"sku": sku})
    paid = OrderPaid(
        amount=Money(amount=13_000, currency="CNY"),
        payment_method=PaymentMethod.CARD,
        paid_at=now() - timedelta(days=paid_days_ago),
    )
    await send(returns, events.placed(tea, CUP), order_id)
    await send(returns, paid, order_id)
    await until_order(returns, order_id, lambda o: o.paid == 13_000 and o.paid_at is not None)
    return order_id


async def test_a_price_drop_after_payment_is_refunded_by_rule(returns: Runtime) -> None:
    sku = new_id("TEA").upper()
    order_id = await paid_order(returns, sku, paid_days_ago=0.01)
    await priced(returns, sku, 4_200)
    response = await ask(returns, order_id, {"reason": "price_dropped"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["amount"]["amount"] == 2 * (5_000 - 4_200)
    assert body["flow"] == "no_return"
    await until_status(returns, body["id"], order_id, "approved")


async def test_a_price_drop_asked_too_late_waits_for_operations(returns: Runtime) -> None:
    sku = new_id("TEA").upper()
    order_id = await paid_order(returns, sku, paid_days_ago=30)
    await priced(returns, sku, 4_500)
    response = await ask(returns, order_id, {"reason": "price_dropped"})
    assert response.status_code == 201, response.text
    assert response.json()["amount"]["amount"] == 1_000
    assert response.json()["status"] == "requested"


async def test_no_lower_price_is_a_422_naming_the_reason(returns: Runtime) -> None:
    sku = new_id("TEA").upper()
    order_id = await paid_order(returns, sku, paid_days_ago=0.01)
    await priced(returns, sku, 5_000)
    response = await ask(returns, order_id, {"reason": "price_dropped"})
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "no_lower_price"
    assert "reason" in str(response.json())
