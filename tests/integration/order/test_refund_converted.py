"""A cancellation whose parcel left anyway: the order shows the shipment travelling and the
refund turned into a return, step by step."""

from __future__ import annotations

import uuid

from shared.contracts.events import returns as rt
from shared.runtime import Runtime
from tests.integration.order.support import kinds, place, refund, shipped, succeeded, until
from tests.support.events import send_all
from tests.support.http import SHOP, client


async def test_a_cancellation_turned_into_a_return_shows_on_the_timeline(
    service: Runtime,
) -> None:
    order_id = (await place(service))["order_id"]
    await send_all(service, order_id, succeeded("a1"))
    await until(service, order_id, lambda o: o["status"] == "paid")
    async with client(service) as http:
        await http.post(f"/v1/orders/{order_id}/cancel", headers=SHOP)
    request = f"rr_{uuid.uuid4().hex[:8]}"
    converted = refund(
        rt.RefundRequested, request, flow="with_return", actor="rule",
        return_shipping_paid_by="customer",
    )  # fmt: skip
    await send_all(
        service,
        order_id,
        refund(rt.RefundRequested, request),
        shipped(f"shp_{uuid.uuid4().hex[:8]}"),
        converted,
    )

    order = await until(service, order_id, lambda o: "refund_converted" in kinds(o))
    assert order["status"] == "shipped", "the parcel travels; nothing was refunded"
    assert [(r["refund_id"], r["status"], r["flow"]) for r in order["refunds"]] == [
        (request, "requested", "with_return")
    ]
    [entry] = [e for e in order["timeline"] if e["kind"] == "refund_converted"]
    assert "包裹已发出" in entry["text"]  # the order speaks zh-CN
