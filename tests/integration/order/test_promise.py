"""The order shows the ship date logistics keeps: the promise judged at payment, then the
new date when a delay is announced."""

from __future__ import annotations

from datetime import date

from shared.contracts.events import logistics as lg
from shared.runtime import Runtime
from tests.integration.order.support import kinds, place, until
from tests.support.events import send_all

FRIDAY, TUESDAY, WEDNESDAY = date(2030, 1, 4), date(2030, 1, 8), date(2030, 1, 9)


async def test_an_order_placed_friday_and_paid_monday_after_the_cutoff_shows_tuesday(
    service: Runtime,
) -> None:
    order_id = (await place(service))["order_id"]
    await send_all(service, order_id, lg.StockReserved(lines=(), promised_ship_date=FRIDAY))
    await until(service, order_id, lambda o: o["promised_ship_date"] == FRIDAY.isoformat())
    await send_all(service, order_id, lg.ShippingPromiseSet(promised_ship_date=TUESDAY))
    order = await until(service, order_id, lambda o: "ship_promised" in kinds(o))
    assert order["promised_ship_date"] == TUESDAY.isoformat()
    [entry] = [e for e in order["timeline"] if e["kind"] == "ship_promised"]
    assert TUESDAY.isoformat() in entry["description"]

    delay = lg.ShipmentDelayed(
        reason="not_shipped_by_promise", previous_date=TUESDAY, new_expected_date=WEDNESDAY
    )
    await send_all(service, order_id, delay)
    order = await until(service, order_id, lambda o: "delayed" in kinds(o))
    assert order["promised_ship_date"] == WEDNESDAY.isoformat()
