"""A parcel refused at the door: a cash-on-delivery order ends `refused` and says so once;
a prepaid order keeps its payment and only shows the refusal."""

from __future__ import annotations

import uuid
from typing import Literal

from shared.contracts.events import logistics as lg
from shared.runtime import Runtime
from tests.integration.order.support import kinds, place, shipped, succeeded, until
from tests.support.events import now, payload, published, resend, send_all
from tests.support.kafka import TopicTail


def refused(
    shipment: str, reason: Literal["refused", "undeliverable"] = "refused"
) -> lg.ShipmentRefused:
    return lg.ShipmentRefused(
        shipment_id=shipment,
        courier="SF Express",
        tracking_number="SF1",
        reason=reason,
        refused_at=now(),
        city="Shanghai",
        description="recipient refused the parcel",
    )


def returned(shipment: str) -> lg.ShipmentReturnedToShop:
    return lg.ShipmentReturnedToShop(
        shipment_id=shipment,
        courier="SF Express",
        tracking_number="SF1",
        returned_at=now(),
        restocked=(),
    )


async def outboxed(runtime: Runtime, order_id: str, event_type: str) -> int:
    async with runtime.db.acquire() as conn:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM outbox WHERE event_type = $1 AND key = $2",
            event_type,
            order_id.encode(),
        )
    return count


async def test_a_refused_cash_on_delivery_order_ends_refused_and_says_so_once(
    service: Runtime, tail: TopicTail
) -> None:
    order_id = (await place(service, payment_method="cash_on_delivery"))["order_id"]
    shipment = f"shp_{uuid.uuid4().hex[:8]}"
    await send_all(service, order_id, shipped(shipment))
    [first] = await send_all(service, order_id, refused(shipment))
    await resend(service, first)  # the same event delivered twice
    await send_all(service, order_id, refused(shipment), returned(shipment))  # told twice

    order = await until(service, order_id, lambda o: "returned_to_shop" in kinds(o))
    assert order["status"] == "refused"
    assert order["payment"]["status"] == "not_charged"
    assert order["totals"]["due"]["amount"] == 0
    assert kinds(order).count("refused") == 1
    [entry] = [e for e in order["timeline"] if e["kind"] == "refused"]
    assert entry["text"].startswith("包裹在门口被拒收"), "in the customer's language"
    [event] = await published(tail, order_id, "OrderRefused")
    assert payload(event) == {"reason": "refused", "was_paid": False}
    assert event.json()["causation_id"] == str(first.event_id)
    assert await outboxed(service, order_id, "OrderRefused") == 1, "told once"


async def test_a_refused_prepaid_order_keeps_its_payment_and_says_its_refund_follows(
    service: Runtime,
) -> None:
    order_id = (await place(service))["order_id"]
    shipment = f"shp_{uuid.uuid4().hex[:8]}"
    await send_all(
        service, order_id, succeeded("a1"), shipped(shipment), refused(shipment, "undeliverable")
    )
    order = await until(service, order_id, lambda o: "parcel_refused" in kinds(o))
    assert order["status"] == "shipped" and order["payment"]["status"] == "paid"
    [entry] = [e for e in order["timeline"] if e["kind"] == "parcel_refused"]
    assert "货款将退还给您" in entry["text"], "the refund follows once the parcel is back"
    assert await outboxed(service, order_id, "OrderRefused") == 0
