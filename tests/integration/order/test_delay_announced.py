"""A delay operations announced, on the order: one timeline entry per announcement and
parcel however often it arrives, read in each language; the ship date shown moves while
the parcel waits in the warehouse, and stays once it is on its way."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, Literal

from shared.contracts.events import logistics as lg
from shared.runtime import Runtime
from tests.integration.order.support import kinds, place, shipped, succeeded, until
from tests.support.events import new_id, resend, send_all
from tests.support.http import client, customer

TUESDAY, FRIDAY, MONDAY = date(2030, 1, 8), date(2030, 1, 11), date(2030, 1, 14)


def announced(
    shipment: str,
    stage: Literal["waiting", "on_its_way"],
    previous: date,
    new_date: date,
) -> lg.ShipmentDelayAnnounced:
    return lg.ShipmentDelayAnnounced(
        delay_id=new_id("dly"),
        cause="peak" if stage == "waiting" else "weather",
        shipment_id=shipment,
        courier="sf",
        stage=stage,
        previous_date=previous,
        new_expected_date=new_date,
    )


def said(order: dict[str, Any]) -> list[str]:
    return [e["text"] for e in order["timeline"] if e["kind"] == "delay_announced"]


async def read(service: Runtime, order_id: str, lang: str) -> dict[str, Any]:
    async with client(service) as http:
        response = await http.get(
            f"/v1/orders/{order_id}", headers=customer(order_id), params={"lang": lang}
        )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_an_announced_delay_is_told_once_and_moves_the_ship_date_only_while_waiting(
    service: Runtime,
) -> None:
    order_id = (await place(service, locale="zh-CN"))["order_id"]
    shipment = f"shp_{uuid.uuid4().hex[:8]}"
    await send_all(
        service,
        order_id,
        succeeded(f"att_{uuid.uuid4().hex[:8]}"),
        lg.StockReserved(lines=(), promised_ship_date=TUESDAY),
    )
    waiting = announced(shipment, "waiting", TUESDAY, FRIDAY)
    [first] = await send_all(service, order_id, waiting)
    await resend(service, first)  # delivered twice
    await send_all(service, order_id, waiting)  # the same announcement under another event id
    await send_all(service, order_id, shipped(shipment))
    order = await until(service, order_id, lambda o: o["status"] == "shipped")
    assert kinds(order).count("delay_announced") == 1
    assert order["promised_ship_date"] == FRIDAY.isoformat(), "it now ships on the new date"
    [leaves] = said(order)
    assert leaves.startswith("很抱歉") and "受促销高峰期订单量激增影响" in leaves
    assert "改为 2030-01-11 从仓库发出" in leaves and "原定 2030-01-08" in leaves
    [entry] = [e for e in order["timeline"] if e["kind"] == "delay_announced"]
    assert entry["details"]["cause"] == "peak" and entry["details"]["stage"] == "waiting"
    assert entry["details"]["courier_name"] == "顺丰速运"

    await send_all(service, order_id, announced(shipment, "on_its_way", FRIDAY, MONDAY))
    order = await until(service, order_id, lambda o: len(said(o)) == 2)
    assert order["promised_ship_date"] == FRIDAY.isoformat(), "the order keeps no arrival date"
    assert "预计改为 2030-01-14 送达" in said(order)[1]
    english = said(await read(service, order_id, "en"))
    assert english[0].endswith("leaves our warehouse on 2030-01-11 instead of 2030-01-08.")
    assert english[1] == (
        "Sorry, because of bad weather, your parcel now arrives on 2030-01-14 "
        "instead of 2030-01-11."
    )
    traditional = said(await read(service, order_id, "zh-TW"))
    assert "從倉庫出貨" in traditional[0] and "受惡劣天候影響" in traditional[1]
