"""An order that ships as two parcels, on the real broker and database: shipped with the
first, delivered (and confirmed automatically once) only with the second, whatever order
and however often logistics tells it; an order that ships whole reads as it always did."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any

from shared.contracts.events import logistics as lg
from shared.contracts.events.common import LineQuantity
from shared.runtime import Runtime
from tests.integration.order.support import delivered, kinds, place, shipped, succeeded, until
from tests.support.events import send_all

FIRST, SECOND = lg.ParcelNumber(number=1, of=2), lg.ParcelNumber(number=2, of=2)


def in_two(order: dict[str, Any]) -> tuple[str, str, lg.ShippingPromiseSet]:
    """Logistics opens two shipments: the tees leave from Shanghai, the mug from Hangzhou."""
    first, second = (f"shp_{uuid.uuid4().hex[:8]}" for _ in range(2))
    tee, mug = order["items"]
    plan = tuple(
        lg.PlannedParcel(
            shipment_id=shipment,
            warehouse=warehouse,
            lines=(
                LineQuantity(line_id=line["line_id"], sku=line["sku"], quantity=line["quantity"]),
            ),
        )
        for shipment, warehouse, line in ((first, "SH-1", tee), (second, "HZ-1", mug))
    )
    promise = lg.ShippingPromiseSet(
        promised_ship_date=date(2030, 1, 2), shipment_id=first, parcels=plan
    )
    return first, second, promise


def checkpoint(shipment: str, city: str) -> lg.CheckpointReached:
    return lg.CheckpointReached(
        shipment_id=shipment,
        courier="SF Express",
        tracking_number="SF1",
        checkpoint_at=datetime.now().astimezone(),
        city=city,
        status="in_transit",
        description=f"Arrived in {city}",
    )


async def auto_confirm(service: Runtime, order_id: str) -> list[tuple[str, datetime]]:
    async with service.db.acquire() as conn:
        rows = await conn.fetch(
            "SELECT state, due_at FROM timers WHERE kind = 'auto_confirm' AND key = $1",
            order_id,
        )
    return [(row["state"], row["due_at"]) for row in rows]


async def test_two_parcels_ship_the_order_with_the_first_and_deliver_it_with_the_second(
    service: Runtime,
) -> None:
    placed = await place(service)
    order_id = placed["order_id"]
    first, second, promise = in_two(placed)
    await send_all(service, order_id, succeeded("a1"), promise, shipped(first, parcel=FIRST))
    order = await until(service, order_id, lambda o: o["status"] == "shipped")
    assert [(p["number"], p["of"], p["status"]) for p in order["parcels"]] == [
        (1, 2, "shipped"),
        (2, 2, "waiting"),
    ]
    assert [line["name"] for line in order["parcels"][1]["lines"]] == ["Mug"]
    assert order["parcels"][0]["warehouse"] == "SH-1"

    await send_all(service, order_id, delivered(first, parcel=FIRST), checkpoint(first, "Wuxi"))
    order = await until(service, order_id, lambda o: "checkpoint" in kinds(o))
    assert order["status"] == "shipped", "one parcel of two arrived"
    assert await auto_confirm(service, order_id) == []

    await send_all(service, order_id, shipped(second, parcel=SECOND))
    order = await until(service, order_id, lambda o: kinds(o).count("shipped") == 2)
    assert order["shipment"]["shipment_id"] == second, "the parcel last handed over"
    last = delivered(second, parcel=SECOND)
    await send_all(service, order_id, last)
    order = await until(service, order_id, lambda o: o["status"] == "delivered")
    [(state, due_at)] = await auto_confirm(service, order_id)
    assert state == "pending" and due_at == last.delivered_at + timedelta(seconds=3600)
    one, two = order["parcels"]
    assert [c["kind"] for c in one["checkpoints"]] == ["shipped", "delivered", "checkpoint"]
    assert [c["kind"] for c in two["checkpoints"]] == ["shipped", "delivered"]
    texts = [e["text"] for e in order["timeline"] if e["kind"] in ("shipped", "delivered")]
    assert texts[0].startswith("卖家已通过SF Express发出第 1 个包裹（共 2 个）")  # noqa: RUF001
    assert "第 2 个包裹（共 2 个）已在Shanghai签收。" in texts  # noqa: RUF001


async def test_deliveries_told_twice_or_before_their_parcel_shipped_change_nothing_twice(
    service: Runtime,
) -> None:
    placed = await place(service)
    order_id = placed["order_id"]
    first, second, promise = in_two(placed)
    early = delivered(second, parcel=SECOND)  # the second parcel's delivery, before it shipped
    await send_all(service, order_id, succeeded("a1"), promise, shipped(first, parcel=FIRST))
    await send_all(service, order_id, early, early, checkpoint(first, "Suzhou"))
    order = await until(service, order_id, lambda o: "checkpoint" in kinds(o))
    assert order["status"] == "shipped" and kinds(order).count("delivered") == 1
    assert await auto_confirm(service, order_id) == []

    final = delivered(first, parcel=FIRST)
    await send_all(service, order_id, final, final, shipped(second, parcel=SECOND))
    order = await until(service, order_id, lambda o: kinds(o).count("shipped") == 2)
    assert order["status"] == "delivered"
    assert kinds(order).count("delivered") == 2
    [(state, due_at)] = await auto_confirm(service, order_id)
    latest = max(early.delivered_at, final.delivered_at)
    assert state == "pending" and due_at == latest + timedelta(seconds=3600)
    assert [p["status"] for p in order["parcels"]] == ["delivered", "delivered"]


async def test_an_order_that_ships_whole_reads_as_before(service: Runtime) -> None:
    placed = await place(service)
    order_id = placed["order_id"]
    shipment = f"shp_{uuid.uuid4().hex[:8]}"
    whole = lg.ParcelNumber(number=1, of=1)
    await send_all(service, order_id, succeeded("a1"), shipped(shipment, parcel=whole))
    await send_all(service, order_id, delivered(shipment, parcel=whole))
    order = await until(service, order_id, lambda o: o["status"] == "delivered")
    assert [(p["number"], p["of"]) for p in order["parcels"]] == [(1, 1)]
    assert order["shipment"]["shipment_id"] == shipment
    assert [c["kind"] for c in order["shipment"]["checkpoints"]] == ["shipped", "delivered"]
    [text] = [e["text"] for e in order["timeline"] if e["kind"] == "delivered"]
    assert text == "已在Shanghai签收。"
    [(state, _)] = await auto_confirm(service, order_id)
    assert state == "pending"
