"""A backorder on the order, on the real broker and database: an order partly out of stock
is held, not cancelled; the customer answers once (BackorderChoiceMade on orders.v1) and
every other answer is refused in the documented format; logistics' outcome moves it
forward however often and in whatever order it is told; the stuck-order watch waits for
it; the timeline says each step in the three languages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from services.order import stuck
from shared.contracts.events import logistics as lg
from shared.runtime import Runtime
from tests.integration.order.support import kinds, order_service, place, succeeded, until
from tests.support.events import now, published, resend, seen, send_all
from tests.support.http import SHOP, client, customer
from tests.support.infra import Infra
from tests.support.kafka import TopicTail

RESTOCK = date(2030, 3, 1)
SETTINGS = {"stuck_not_shipped_seconds": 2.0, "stuck_check_seconds": 3600}


@pytest.fixture(scope="module")
async def service(infra: Infra) -> AsyncIterator[Runtime]:
    dsn = await infra.create_database("order_backorders")
    async with order_service(infra, dsn, **SETTINGS) as runtime:
        yield runtime


def short_line(quantity: int = 1, held: int = 1) -> lg.BackorderLine:
    return lg.BackorderLine(
        line_id="l1",
        sku="TEE-RED-M",
        name="Cotton tee",
        variant="red / M",
        quantity=quantity,
        held=held,
        restock_expected=RESTOCK,
    )


def backordered() -> lg.StockBackordered:
    return lg.StockBackordered(
        lines=(short_line(),),
        choose_by=now() + timedelta(days=2),
        default_choice="ship_available",
        restock_expected=RESTOCK,
    )


def waiting(chosen_by: str = "customer") -> lg.BackorderWaiting:
    return lg.BackorderWaiting(
        lines=(short_line(),),
        restock_expected=RESTOCK,
        chosen_by=chosen_by,  # type: ignore[arg-type]
    )


def filled() -> lg.BackorderFilled:
    return lg.BackorderFilled(
        lines=(lg.LineQuantity(line_id="l1", sku="TEE-RED-M", quantity=1),), filled_at=now()
    )


async def outboxed(service: Runtime, order_id: str) -> int:
    """The BackorderChoiceMade events the order wrote to its outbox."""
    async with service.db.acquire() as conn:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM outbox WHERE event_type = 'BackorderChoiceMade' AND key = $1",
            order_id.encode(),
        )
    return count


async def choose(service: Runtime, order_id: str, choice: Any) -> httpx.Response:
    async with client(service) as http:
        return await http.post(
            f"/v1/orders/{order_id}/backorder-choice",
            json={"choice": choice},
            headers=customer(order_id),
        )


async def open_backorder(service: Runtime, **overrides: Any) -> str:
    order_id = str((await place(service, **overrides))["order_id"])
    await send_all(service, order_id, backordered())
    await until(service, order_id, lambda o: o["backorder"] is not None)
    return order_id


async def test_a_backorder_holds_the_order_and_the_first_answer_is_told_once(
    service: Runtime, tail: TopicTail
) -> None:
    order_id = await open_backorder(service)
    await send_all(service, order_id, succeeded("a1"))
    order = await until(service, order_id, lambda o: o["status"] == "paid")
    backorder = order["backorder"]
    assert backorder["state"] == "open" and backorder["default_choice"] == "ship_available"
    assert backorder["restock_expected"] == RESTOCK.isoformat()
    assert backorder["choice"] is None and backorder["chosen_by"] is None
    assert backorder["lines"] == [
        {
            "line_id": "l1",
            "sku": "TEE-RED-M",
            "name": "Cotton tee",
            "variant": "red / M",
            "quantity": 1,
            "held": 1,
            "restock_expected": RESTOCK.isoformat(),
        }
    ]
    assert "cancelled" not in kinds(order), "a backorder is not a shortage"

    first = await choose(service, order_id, "wait")
    assert first.status_code == 202, first.text
    assert first.json()["backorder"]["choice"] == "wait"
    assert first.json()["backorder"]["chosen_by"] == "customer"
    [made] = await published(tail, order_id, "BackorderChoiceMade")
    assert made.topic == "orders.v1" and made.json()["payload"]["choice"] == "wait"
    again = await choose(service, order_id, "wait")
    assert again.status_code == 200, again.text
    other = await choose(service, order_id, "ship_available")
    assert other.status_code == 409 and other.json()["error"] == "backorder_answered", other.text
    bad = await choose(service, order_id, "later")
    assert bad.status_code == 422, bad.text
    assert [f["field"] for f in bad.json()["fields"]] == ["choice"], bad.text
    assert await outboxed(service, order_id) == 1, "the repeats wrote nothing to the outbox"
    assert len(seen(tail, order_id, "BackorderChoiceMade")) == 1

    await send_all(service, order_id, waiting())
    order = await until(service, order_id, lambda o: o["backorder"]["state"] == "waiting")
    await send_all(service, order_id, filled())
    order = await until(service, order_id, lambda o: o["backorder"]["state"] == "filled")
    assert order["backorder"]["lines"][0]["held"] == 2 and order["status"] == "paid"
    closed = await choose(service, order_id, "ship_available")
    assert closed.status_code == 409 and closed.json()["error"] == "backorder_closed", closed.text
    await send_all(
        service, order_id, lg.StockReserved(lines=(), promised_ship_date=date(2030, 3, 2))
    )
    order = await until(service, order_id, lambda o: o["promised_ship_date"] == "2030-03-02")
    assert order["status"] == "paid"


async def test_an_order_without_a_backorder_or_unknown_is_refused(service: Runtime) -> None:
    order_id = (await place(service))["order_id"]
    none = await choose(service, order_id, "wait")
    assert none.status_code == 409 and none.json()["error"] == "no_backorder", none.text
    async with client(service) as http:
        unknown = await http.post(
            "/v1/orders/ord_nope/backorder-choice", json={"choice": "wait"}, headers=SHOP
        )
    assert unknown.status_code == 404 and unknown.json()["error"] == "order_not_found"


async def test_dropped_and_a_shortage_after_it_end_as_logistics_says(service: Runtime) -> None:
    dropped = await open_backorder(service)
    told = lg.BackorderDropped(dropped=(short_line(),), chosen_by="default")
    [event] = await send_all(service, dropped, told)
    await resend(service, event)
    order = await until(service, dropped, lambda o: o["backorder"]["state"] == "dropped")
    assert order["backorder"]["chosen_by"] == "default"
    assert kinds(order).count("backorder_dropped") == 1
    refused = await choose(service, dropped, "wait")
    assert refused.status_code == 409 and refused.json()["error"] == "backorder_closed"

    nothing_held = await open_backorder(service)
    short = await choose(service, nothing_held, "ship_available")
    assert short.status_code == 202, short.text
    await send_all(service, nothing_held, lg.StockRanShort(lines=()))
    order = await until(service, nothing_held, lambda o: o["status"] == "cancelled")
    again = await choose(service, nothing_held, "ship_available")
    assert again.status_code == 200, "the same answer: nothing to say"
    other = await choose(service, nothing_held, "wait")
    assert other.status_code == 409 and other.json()["error"] == "backorder_closed"


async def test_duplicates_and_waiting_before_the_backorder_change_nothing_twice(
    service: Runtime,
) -> None:
    order_id = (await place(service))["order_id"]
    early, first = await send_all(service, order_id, waiting("default"), backordered())
    await resend(service, early, first)
    await send_all(service, order_id, backordered())  # told again under another event id
    marker = lg.ShipmentPicked(shipment_id="shp_marker", picked_at=now())
    await send_all(service, order_id, marker)  # read after every event before it
    order = await until(service, order_id, lambda o: "picked" in kinds(o))
    backorder = order["backorder"]
    assert backorder["state"] == "waiting", "not put back to open"
    assert backorder["choice"] == "wait" and backorder["chosen_by"] == "default"
    assert backorder["choose_by"] is not None, "the late StockBackordered fills in"
    assert kinds(order).count("backordered") == 1
    assert kinds(order).count("backorder_waiting") == 1


async def test_the_stuck_watch_waits_while_the_backorder_is_open_or_waiting(
    service: Runtime,
) -> None:
    order_id = await open_backorder(service)
    yesterday = datetime.now(ZoneInfo("Asia/Shanghai")).date() - timedelta(days=1)
    await send_all(service, order_id, lg.ShippingPromiseSet(promised_ship_date=yesterday))
    await send_all(service, order_id, succeeded("a1"))
    await until(service, order_id, lambda o: o["status"] == "paid")

    async def flagged() -> bool:
        reported = await stuck.check(service, service.settings.stuck_thresholds, now=now())
        assert reported is not None
        async with service.db.acquire() as conn:
            rows = await conn.fetch("SELECT stage FROM stuck_reports WHERE order_id = $1", order_id)
        return "not_shipped" in [r["stage"] for r in rows]

    assert not await flagged(), "open: not expected to ship"
    await send_all(service, order_id, waiting())
    await until(service, order_id, lambda o: o["backorder"]["state"] == "waiting")
    assert not await flagged(), "waiting: not expected to ship"
    await send_all(service, order_id, filled())
    await until(service, order_id, lambda o: o["backorder"]["state"] == "filled")
    assert await flagged(), "filled and past its promise: it should have shipped"


async def test_each_step_is_said_in_the_three_languages(service: Runtime) -> None:
    order_id = await open_backorder(service, locale="zh-TW")
    assert (await choose(service, order_id, "wait")).status_code == 202
    await send_all(service, order_id, waiting())
    await until(service, order_id, lambda o: "backorder_waiting" in kinds(o))
    await send_all(service, order_id, filled())
    await until(service, order_id, lambda o: "backorder_filled" in kinds(o))
    steps = ("backordered", "backorder_chosen", "backorder_waiting", "backorder_filled")

    async def said(lang: str) -> list[str]:
        async with client(service) as http:
            response = await http.get(
                f"/v1/orders/{order_id}", headers=customer(order_id), params={"lang": lang}
            )
        assert response.status_code == 200, response.text
        return [e["text"] for e in response.json()["timeline"] if e["kind"] in steps]

    english, simplified, traditional = await said("en"), await said("zh-CN"), await said("zh-TW")
    assert english[0].startswith("Some items are out of stock: Cotton tee (red / M)")
    assert "The restock is expected on 2030-03-01." in english[0]
    assert english[1].startswith("You chose to wait for the missing items")
    assert english[2].startswith("Your order waits for Cotton tee")
    assert english[3] == "Everything is in stock now; your order will ship whole soon."
    assert simplified[0].startswith("部分商品缺货") and "预计 2030-03-01 补货" in simplified[0]
    assert simplified[3].startswith("缺货商品已全部到货")
    assert traditional[0].startswith("部分商品缺貨") and "預計 2030-03-01 補貨" in traditional[0]
    assert traditional[1].startswith("您已選擇等待缺貨商品")
    assert len(english) == len(simplified) == len(traditional) == 4


def restock_changed(expected: date | None) -> lg.BackorderRestockDateChanged:
    line = short_line().model_copy(update={"restock_expected": expected})
    return lg.BackorderRestockDateChanged(lines=(line,), restock_expected=expected)


async def test_a_new_restock_date_is_shown_on_the_card_and_said_once_in_the_timeline(
    service: Runtime,
) -> None:
    order_id = await open_backorder(service, locale="zh-CN")
    await send_all(service, order_id, waiting())
    await until(service, order_id, lambda o: o["backorder"]["state"] == "waiting")
    later = RESTOCK + timedelta(days=10)
    [moved] = await send_all(service, order_id, restock_changed(later))
    await resend(service, moved)  # delivered twice
    order = await until(
        service, order_id, lambda o: o["backorder"]["restock_expected"] == later.isoformat()
    )
    card = order["backorder"]
    assert card["state"] == "waiting" and order["status"] == "placed", "nothing else moves"
    assert card["lines"][0]["restock_expected"] == later.isoformat()
    await send_all(service, order_id, restock_changed(None))
    order = await until(service, order_id, lambda o: o["backorder"]["restock_expected"] is None)
    assert order["backorder"]["lines"][0]["restock_expected"] is None
    assert kinds(order).count("backorder_restock_changed") == 2, "once per change"

    async def said(lang: str) -> list[str]:
        async with client(service) as http:
            response = await http.get(
                f"/v1/orders/{order_id}", headers=customer(order_id), params={"lang": lang}
            )
        assert response.status_code == 200, response.text
        timeline = response.json()["timeline"]
        return [e["text"] for e in timeline if e["kind"] == "backorder_restock_changed"]

    english, simplified, traditional = await said("en"), await said("zh-CN"), await said("zh-TW")
    assert english == [
        "The restock of Cotton tee (red / M) \u00d7 1 is now expected on 2030-03-11.",
        "The restock date of Cotton tee (red / M) \u00d7 1 is not known any more; we will tell"
        " you when it is.",
    ]
    assert "现预计 2030-03-11 补货" in simplified[0] and "暂无法确定" in simplified[1]
    assert "現預計 2030-03-11 補貨" in traditional[0] and "目前無法確定" in traditional[1]
