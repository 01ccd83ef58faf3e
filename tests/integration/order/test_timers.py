"""The payment window and auto-confirmation: durable timers, configured in seconds."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from shared.contracts.envelope import Money
from shared.contracts.events import payment as pm
from shared.contracts.events import returns as rt
from shared.contracts.events.common import Address
from shared.runtime import Runtime
from tests.integration.order.support import delivered, kinds, order_service, place, until
from tests.support.events import now, published, seen, send_all
from tests.support.infra import Infra
from tests.support.kafka import TopicTail
from tests.support.polling import eventually

ADDRESS = Address(recipient="Li Wei", line1="1 Century Avenue", city="Shanghai", country="CN")


async def timer(runtime: Runtime, kind: str, order_id: str) -> dict[str, Any]:
    async with runtime.db.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT state, due_at FROM timers WHERE kind = $1 AND key = $2", kind, order_id
        )
    return dict(row) if row else {}


def paid(attempt: str) -> pm.PaymentSucceeded:
    return pm.PaymentSucceeded(
        attempt_id=attempt,
        method="wallet",
        amount=Money(amount=12_800, currency="CNY"),
        provider="sandbox",
        provider_reference=attempt,
        paid_at=now(),
    )


async def test_the_payment_window_closes_an_unpaid_order_even_across_a_restart(
    infra: Infra, database: str, tail: TopicTail
) -> None:
    async with order_service(infra, database, payment_window_seconds=6) as first:
        unpaid = (await place(first))["order_id"]
        cod = (await place(first, payment_method="cash_on_delivery"))["order_id"]
        settled = (await place(first))["order_id"]
        await send_all(first, settled, paid("a1"))
        await until(first, settled, lambda o: o["status"] == "paid")
        assert (await timer(first, "payment_window", unpaid))["state"] == "pending"
    async with order_service(infra, database, payment_window_seconds=6) as second:
        [closed] = await published(tail, unpaid, "OrderClosed", timeout=30)
        order = await until(second, unpaid, lambda o: o["status"] == "closed")
        await send_all(second, unpaid, paid("late"))
        order = await until(second, unpaid, lambda o: "late_payment" in kinds(o))
        cod_order = await until(second, cod, lambda o: o["status"] == "placed")
        settled_order = await until(second, settled, lambda o: o["status"] == "paid")
    assert closed.json()["payload"] == {"reason": "payment_window_expired"}
    assert order["status"] == "closed" and order["payment"]["amount_due"]["amount"] == 0
    assert kinds(order)[:2] == ["placed", "closed"]
    assert "未在规定时间内收到付款" in order["timeline"][1]["text"]  # the order speaks zh-CN
    assert cod_order["payment"]["status"] == "pay_on_delivery"
    assert settled_order["totals"]["paid"]["amount"] == 12_800
    assert not seen(tail, cod, "OrderClosed") and not seen(tail, settled, "OrderClosed")
    assert len(seen(tail, unpaid, "OrderClosed")) == 1


async def test_a_delivered_order_confirms_itself_but_waits_while_a_refund_is_open(
    infra: Infra, database: str, tail: TopicTail
) -> None:
    async with order_service(infra, database, auto_confirm_seconds=3) as runtime:
        quiet = (await place(runtime))["order_id"]
        disputed = (await place(runtime))["order_id"]
        request = f"rr_{uuid.uuid4().hex[:8]}"
        for order_id in (quiet, disputed):
            await send_all(runtime, order_id, paid("a1"))
        await send_all(
            runtime,
            disputed,
            rt.RefundRequested(
                refund_request_id=request,
                flow="no_return",
                reason="damaged",
                lines=(),
                amount=Money(amount=4_900, currency="CNY"),
                return_shipping_paid_by=None,
                actor="customer",
            ),
        )
        await until(runtime, disputed, lambda o: "refund_requested" in kinds(o))
        for order_id in (quiet, disputed):
            await send_all(runtime, order_id, delivered(f"shp_{order_id[-6:]}"))
        [completed] = await published(tail, quiet, "OrderCompleted", timeout=30)
        first_due: datetime = await eventually(
            lambda: _due(runtime, disputed), what="auto-confirm timer set"
        )
        rearmed = await eventually(
            lambda: _due_after(runtime, disputed, first_due), timeout=30, what="timer re-armed"
        )
        held = await until(runtime, disputed, lambda o: o["status"] == "delivered")
        reject = rt.RefundRejected(
            refund_request_id=request, reason="no damage", actor="operations"
        )
        await send_all(runtime, disputed, reject)
        [finally_completed] = await published(tail, disputed, "OrderCompleted", timeout=30)
        order = await until(runtime, disputed, lambda o: o["status"] == "completed")
    assert completed.json()["payload"]["confirmed_by"] == "auto"
    assert finally_completed.json()["payload"]["confirmed_by"] == "auto"
    assert rearmed is not None and rearmed > first_due
    assert "completed" not in kinds(held)
    assert kinds(order)[-1] == "completed"


async def _due(runtime: Runtime, order_id: str) -> datetime | None:
    row = await timer(runtime, "auto_confirm", order_id)
    return row["due_at"] if row else None


async def _due_after(runtime: Runtime, order_id: str, first: datetime) -> datetime | None:
    """The due time of the auto-confirm timer once it re-armed itself (same key) past `first`."""
    async with runtime.db.acquire() as conn:
        due: datetime | None = await conn.fetchval(
            """SELECT due_at FROM timers WHERE kind = 'auto_confirm'
               AND key = $1 AND state = 'pending'""",
            order_id,
        )
    return due if due is not None and due > first else None
