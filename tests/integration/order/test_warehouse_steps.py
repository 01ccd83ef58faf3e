"""The warehouse's steps on the customer's timeline: picked, then packed, each said once
in the customer's language; the order is shipped only when the parcel is handed over."""

from __future__ import annotations

import uuid

from shared.contracts.events import logistics as lg
from shared.runtime import Runtime
from tests.integration.order.support import kinds, place, shipped, succeeded, until
from tests.support.events import now, resend, send_all


async def test_picked_and_packed_join_the_timeline_once_and_the_order_is_not_yet_shipped(
    service: Runtime,
) -> None:
    order_id = (await place(service))["order_id"]
    shipment = f"shp_{uuid.uuid4().hex[:8]}"
    picked = lg.ShipmentPicked(shipment_id=shipment, picked_at=now())
    packed = lg.ShipmentPacked(shipment_id=shipment, packed_at=now(), weight_grams=700, parcels=1)
    await send_all(service, order_id, succeeded(f"att_{uuid.uuid4().hex[:8]}"))
    [first, _] = await send_all(service, order_id, picked, packed)
    await resend(service, first)  # delivered twice

    order = await until(service, order_id, lambda o: "packed" in kinds(o))
    assert kinds(order).count("picked") == 1 and kinds(order).count("packed") == 1
    assert order["status"] == "paid", "packed is not shipped"
    texts = {e["kind"]: e["text"] for e in order["timeline"]}
    assert texts["picked"] == "仓库已为您拣好商品。"
    assert texts["packed"].startswith("包裹已打包")

    await send_all(service, order_id, shipped(shipment))
    order = await until(service, order_id, lambda o: o["status"] == "shipped")
    assert kinds(order).index("packed") < kinds(order).index("shipped")
