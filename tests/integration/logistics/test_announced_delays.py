"""Delays operations announce (a peak, a courier's problem): every parcel covered, waiting
in the warehouse or on its way, is expected later and its customer told once, before the
date they were given passes; parcels that open or ship while it is in force are told too."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from services.logistics.domain.shipping import ShippingCalendar
from tests.integration.logistics.support import Logistics, of, placed
from tests.integration.ops.support import env_for, fulfil
from tests.support.events import new_id, paid, payload
from tests.support.http import OPS, client
from tests.support.kafka import TopicTail
from tests.support.polling import eventually


async def opened(lg: Logistics, sku: str, region: str = "Zhejiang") -> tuple[str, date]:
    """An order for one unit placed for delivery in `region` and paid: its id and the ship
    date promised once its shipment opened."""
    order_id = new_id("ord")
    await lg.send(placed([(sku, 1)], region=region), order_id)
    await lg.tail.wait_for(of(order_id, "StockReserved"))
    await lg.send(paid(9_900), order_id)
    [promise] = await lg.tail.wait_for(of(order_id, "ShippingPromiseSet"))
    return order_id, date.fromisoformat(payload(promise)["promised_ship_date"])


async def announce(lg: Logistics, delay_id: str, **body: Any) -> httpx.Response:
    async with client(lg.runtime) as http:
        return await http.put(f"/v1/ops/delays/{delay_id}", json=body, headers=OPS)


async def standing(lg: Logistics, delay_id: str) -> dict[str, Any]:
    async with client(lg.runtime) as http:
        response = await http.get(f"/v1/ops/delays/{delay_id}", headers=OPS)
    assert response.status_code == 200, response.text
    return dict(response.json())


def today(lg: Logistics) -> tuple[ShippingCalendar, date]:
    calendar: ShippingCalendar = lg.runtime.deps.calendar
    return calendar, calendar.local_date(datetime.now(UTC))


def announced(tail: TopicTail, order_id: str) -> list[dict[str, Any]]:
    return [payload(r) for r in tail.records if of(order_id, "ShipmentDelayAnnounced")(r)]


async def test_a_peak_in_one_region_tells_each_waiting_parcel_once_and_those_opened_after(
    lg: Logistics, tail: TopicTail
) -> None:
    async with lg.running(warehouse_steps=True) as runtime:
        sku = await lg.stocked(on_hand=10)
        zhejiang, promised = await opened(lg, sku)
        guangdong, _ = await opened(lg, sku, region="Guangdong")
        calendar, day = today(lg)
        peak = {
            "cause": "peak", "expected_from": str(day), "expected_to": str(day + timedelta(14)),
            "days": 2, "parcels": "waiting", "region": "zhejiang",
        }  # fmt: skip
        made = await announce(lg, "singles-day", **peak)
        assert made.status_code == 201, made.text
        assert made.json()["covered"] == 1, "the Guangdong parcel is not covered"
        [told] = await tail.wait_for(of(zhejiang, "ShipmentDelayAnnounced"))
        later = calendar.add_working_days(promised, 2)
        assert payload(told) | {"shipment_id": None} == {
            "delay_id": "singles-day", "cause": "peak", "shipment_id": None,
            "courier": payload(told)["courier"], "stage": "waiting",
            "previous_date": str(promised), "new_expected_date": str(later),
        }  # fmt: skip

        again = await announce(lg, "singles-day", **peak)
        assert again.status_code == 200 and again.json()["covered"] == 1
        other = await announce(lg, "singles-day", **(peak | {"days": 3}))
        assert other.status_code == 409 and other.json()["error"] == "delay_exists"
        bad = await announce(lg, "bad", **(peak | {"expected_to": str(day - timedelta(1))}))
        assert bad.status_code == 422 and bad.json()["field"] == "expected_to"
        nobody = await announce(lg, "bad", **(peak | {"courier": "dhl"}))
        assert nobody.status_code == 422 and nobody.json()["field"] == "courier"

        newcomer, newcomer_promise = await opened(lg, sku)
        [told_newcomer] = await tail.wait_for(of(newcomer, "ShipmentDelayAnnounced"))
        assert payload(told_newcomer)["previous_date"] == str(newcomer_promise)

        async def all_told() -> bool:
            return (await standing(lg, "singles-day"))["told"] == 2

        await eventually(all_told, what="both Zhejiang parcels told")
        async with runtime.db.acquire() as conn:
            watched = dict(
                await conn.fetch(
                    "SELECT key, state FROM timers WHERE kind = 'ship_by' AND key LIKE $1",
                    f"{zhejiang}:%",
                )
            )
            kept = await conn.fetchval(
                "SELECT promised_ship_date FROM fulfilments WHERE order_id = $1", zhejiang
            )
        assert watched == {f"{zhejiang}:{promised}": "cancelled", f"{zhejiang}:{later}": "pending"}
        assert kept == later, "the new date is the promise the ship-by timer watches"
        await lg.send(paid(9_900), zhejiang)  # a payment delivered again tells nothing more
        await lg.settled_stock(sku)
    assert len(announced(tail, zhejiang)) == 1
    assert announced(tail, guangdong) == []


async def test_a_courier_problem_tells_its_parcels_on_their_way_and_those_shipped_after(
    lg: Logistics, tail: TopicTail
) -> None:
    async with lg.running(couriers=["zto"]):
        sku = await lg.stocked(on_hand=10)
        on_its_way, delivered = new_id("ord"), new_id("ord")
        for order_id in (on_its_way, delivered):
            await lg.send(placed([(sku, 1)]), order_id)
            await lg.send(paid(9_900), order_id)
        [shipped] = await tail.wait_for(of(on_its_way, "ShipmentShipped"))
        [handed] = await tail.wait_for(of(delivered, "ShipmentShipped"))
        tracking = payload(handed)["tracking_number"]
        done = await lg.post_checkpoint("zto", tracking, "cp-1", datetime.now(UTC), "delivered")
        assert done.status_code == 200
        await tail.wait_for(of(delivered, "ShipmentDelivered"))

        calendar, day = today(lg)
        problem = {
            "cause": "courier_problem", "expected_from": str(day),
            "expected_to": str(day + timedelta(30)), "days": 1, "parcels": "on_its_way",
            "courier": "zto",
        }  # fmt: skip
        made = await announce(lg, "zto-hub-closed", **problem)
        assert made.status_code == 201 and made.json()["covered"] == 1, made.text
        [told] = await tail.wait_for(of(on_its_way, "ShipmentDelayAnnounced"))
        expected = date.fromisoformat(payload(shipped)["expected_delivery_date"])
        assert payload(told)["stage"] == "on_its_way" and payload(told)["courier"] == "zto"
        assert payload(told)["previous_date"] == str(expected)
        assert payload(told)["new_expected_date"] == str(calendar.add_working_days(expected, 1))

        after = new_id("ord")
        await lg.send(placed([(sku, 1)]), after)
        await lg.send(paid(9_900), after)
        [shipped_after] = await tail.wait_for(of(after, "ShipmentShipped"))
        [told_after] = await tail.wait_for(of(after, "ShipmentDelayAnnounced"))
        previous = payload(shipped_after)["expected_delivery_date"]
        assert payload(told_after)["previous_date"] == previous
        assert lg.told(after).index("ShipmentDelayAnnounced") > lg.told(after).index(
            "ShipmentShipped"
        ), "a parcel waiting in the warehouse was not covered: told once it left"
        env = env_for(lg.infra, lg.runtime)
        repeat = [
            "delays", "announce", "zto-hub-closed", "--cause", "courier_problem",
            "--from", str(day), "--to", str(day + timedelta(30)), "--days", "1",
            "--parcels", "on_its_way", "--courier", "zto",
        ]  # fmt: skip
        said = await fulfil(env, *repeat)
        assert said.code == 0 and "1 open parcels covered" in said.out, said.err
        listed = await fulfil(env, "delays", "list", "--in-force", "--json")
        [shown] = listed.json()
        assert (shown["delay_id"], shown["covered"]) == ("zto-hub-closed", 1)
        refused = await fulfil(env, *repeat[:-2], "--courier", "dhl")
        assert refused.code != 0 and "dhl" in refused.err
    assert announced(tail, delivered) == [], "a delivered parcel is not told"
    assert len(announced(tail, on_its_way)) == 1
