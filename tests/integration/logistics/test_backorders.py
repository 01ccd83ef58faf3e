"""Backorders on the real broker and database: an order partly out of stock holds what is
there instead of being cancelled; the customer's answer (or the deadline's default) ships
what is there or waits; goods received serve the waiting orders first come, first served;
an order that ends gives what it held to the next one; a changed restock date is told to
the orders that still wait for it; and what may not wait stays all or nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from prometheus_client import REGISTRY

from shared.contracts.events.common import PaymentMethod
from shared.contracts.events.order import BackorderChoiceMade, OrderCancelled
from tests.integration.logistics.support import Logistics, of, placed
from tests.support.db import until_handled
from tests.support.events import new_id, paid, payload
from tests.support.http import OPS, client
from tests.support.kafka import TopicTail


def choice(answer: str) -> BackorderChoiceMade:
    return BackorderChoiceMade(choice=answer, chosen_at=datetime.now(UTC))  # type: ignore[arg-type]


async def receive(lg: Logistics, sku: str, quantity: int, **extra: Any) -> dict[str, Any]:
    async with client(lg.runtime) as http:
        response = await http.post(
            f"/v1/stock/{sku}/receipts", json={"quantity": quantity, **extra}, headers=OPS
        )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def queue(lg: Logistics, sku: str) -> list[tuple[str, str, int]]:
    async with client(lg.runtime) as http:
        response = await http.get(f"/v1/stock/{sku}/backorders", headers=OPS)
    assert response.status_code == 200, response.text
    return [(b["order_id"], b["state"], b["quantity"]) for b in response.json()["backorders"]]


async def test_a_short_order_holds_what_is_there_and_ships_it_once_the_customer_chooses(
    lg: Logistics, tail: TopicTail
) -> None:
    order_id = new_id("ord")
    async with lg.running():
        mug, tea = await lg.stocked(on_hand=1), await lg.stocked(on_hand=5)
        expected = date.today() + timedelta(days=4)
        async with client(lg.runtime) as http:
            put = await http.put(
                f"/v1/stock/{mug}/restock-date",
                json={"expected_on": expected.isoformat()},
                headers=OPS,
            )
        assert put.status_code == 200, put.text
        before = _counted()
        await lg.send(placed([(mug, 3), (tea, 1)]), order_id)
        [told] = await tail.wait_for(of(order_id, "StockBackordered"))
        await lg.send(paid(39_600), order_id)
        held_mug, held_tea = await lg.stock(mug), await lg.stock(tea)
        answer = await lg.send(choice("ship_available"), order_id)
        await lg.resend(answer)  # delivered twice
        await lg.send(choice("wait"), order_id)  # a second answer changes nothing
        [shipped] = await tail.wait_for(of(order_id, "ShipmentShipped"))
        await tail.poll()
        after_mug = await lg.stock(mug)
    body = payload(told)
    assert [(x["sku"], x["quantity"], x["held"]) for x in body["lines"]] == [(mug, 2, 1)]
    assert body["restock_expected"] == expected.isoformat()
    assert body["default_choice"] == "ship_available"
    assert (held_mug["reserved"], held_tea["reserved"]) == (1, 1), "what is there is held"
    steps = lg.told(order_id)
    assert steps.count("BackorderDropped") == 1 and "BackorderWaiting" not in steps
    assert "StockRanShort" not in steps, "the order is not cancelled"
    assert steps.index("BackorderDropped") < steps.index("StockReserved")
    [dropped] = [r for r in tail.records if of(order_id, "BackorderDropped")(r)]
    assert payload(dropped)["chosen_by"] == "customer"
    assert [(x["sku"], x["quantity"]) for x in payload(dropped)["dropped"]] == [(mug, 2)]
    goods = sorted((x["sku"], x["quantity"]) for x in payload(shipped)["lines"])
    assert goods == sorted([(mug, 1), (tea, 1)]), "the parcel carries only what was held"
    assert (after_mug["on_hand"], after_mug["reserved"]) == (0, 0)
    counted = {k: v - before.get(k, 0.0) for k, v in _counted().items()}
    assert {k: v for k, v in counted.items() if v} == {
        ("opened", ""): 1.0,
        ("dropped", "customer"): 1.0,
    }, "each step counted once, the repeated answer not"


async def test_waiting_orders_are_served_first_come_and_a_later_order_never_overtakes(
    lg: Logistics, tail: TopicTail
) -> None:
    first, second, third = new_id("ord"), new_id("ord"), new_id("ord")
    async with lg.running():
        mug, tea = await lg.stocked(on_hand=0), await lg.stocked(on_hand=10)
        await lg.send(placed([(mug, 2), (tea, 1)]), first)
        await tail.wait_for(of(first, "StockBackordered"))
        await lg.send(placed([(mug, 1), (tea, 1)]), second)
        await tail.wait_for(of(second, "StockBackordered"))
        for order_id in (first, second):
            await lg.send(paid(19_800), order_id)
            await lg.send(choice("wait"), order_id)
            await tail.wait_for(of(order_id, "BackorderWaiting"))
        waiting = await queue(lg, mug)

        one = await receive(lg, mug, 1, receipt_id="delivery-1")
        again = await receive(lg, mug, 1, receipt_id="delivery-1")  # sent twice
        after_one = await queue(lg, mug)
        await lg.send(placed([(mug, 1), (tea, 1)]), third)  # placed after: behind them
        await tail.wait_for(of(third, "StockBackordered"))

        await receive(lg, mug, 2)
        await tail.wait_for(of(first, "ShipmentShipped"))
        await tail.wait_for(of(second, "ShipmentShipped"))
        left = await queue(lg, mug)
        level = await lg.stock(mug)
    assert [w[0] for w in waiting] == [first, second]
    assert one["served"] == [{"order_id": first, "quantity": 1, "filled": False}]
    assert again["repeated"] is True and again["served"] == one["served"]
    assert after_one == [(first, "waiting", 1), (second, "waiting", 1)], "once, oldest first"
    assert left == [(third, "open", 1)], "the order placed later still waits"
    [filled] = [r for r in tail.records if of(first, "BackorderFilled")(r)]
    assert [(x["sku"], x["quantity"]) for x in payload(filled)["lines"]] == [(mug, 2)]
    for order_id in (first, second):
        steps = lg.told(order_id)
        assert steps.index("BackorderFilled") < steps.index("StockReserved")
    assert (level["on_hand"], level["reserved"]) == (0, 0), "3 in, 3 shipped"


async def test_without_an_answer_the_default_applies_and_a_late_answer_changes_nothing(
    lg: Logistics, tail: TopicTail
) -> None:
    order_id = new_id("ord")
    async with lg.running(backorder_choice_seconds=1, backorder_default="wait"):
        mug, tea = await lg.stocked(on_hand=0), await lg.stocked(on_hand=3)
        await lg.send(placed([(mug, 1), (tea, 1)]), order_id)
        [waiting] = await tail.wait_for(of(order_id, "BackorderWaiting"), timeout=30)
        late = await lg.send(choice("ship_available"), order_id)
        await until_handled(lg.runtime, late)
        left = await queue(lg, mug)
    assert payload(waiting)["chosen_by"] == "default"
    assert left == [(order_id, "waiting", 1)], "the late answer did not drop the units"
    assert "BackorderDropped" not in lg.told(order_id)


async def test_an_order_that_ends_gives_what_it_held_to_the_next_that_waits(
    lg: Logistics, tail: TopicTail
) -> None:
    first, second = new_id("ord"), new_id("ord")
    async with lg.running():
        mug, tea = await lg.stocked(on_hand=1), await lg.stocked(on_hand=10)
        await lg.send(placed([(mug, 2), (tea, 1)]), first)  # holds the one mug
        await tail.wait_for(of(first, "StockBackordered"))
        await lg.send(placed([(mug, 1), (tea, 1)]), second)
        await tail.wait_for(of(second, "StockBackordered"))
        await lg.send(OrderCancelled(reason="customer_request", was_paid=False), first)
        [filled] = await tail.wait_for(of(second, "BackorderFilled"))
        level, left = await lg.stock(mug), await queue(lg, mug)
    assert "StockReleased" in lg.told(first)
    assert [(x["sku"], x["quantity"]) for x in payload(filled)["lines"]] == [(mug, 1)]
    assert (level["on_hand"], level["reserved"]) == (1, 1), "the second order holds it now"
    assert left == []


async def test_cash_on_delivery_or_nothing_in_stock_stays_all_or_nothing(
    lg: Logistics, tail: TopicTail
) -> None:
    cod, empty = new_id("ord"), new_id("ord")
    async with lg.running():
        mug, tea = await lg.stocked(on_hand=1), await lg.stocked(on_hand=5)
        gone = await lg.stocked(on_hand=0)
        await lg.send(placed([(mug, 2), (tea, 1)], method=PaymentMethod.CASH_ON_DELIVERY), cod)
        await lg.send(placed([(gone, 1)]), empty)
        await tail.wait_for(of(cod, "StockRanShort"))
        await tail.wait_for(of(empty, "StockRanShort"))
        held_tea = await lg.stock(tea)
    assert "StockBackordered" not in lg.told(cod) + lg.told(empty)
    assert held_tea["reserved"] == 0


async def test_bad_receipts_and_restock_dates_are_refused_naming_the_field(
    lg: Logistics,
) -> None:
    async with lg.running():
        sku = await lg.stocked(on_hand=0)
        async with client(lg.runtime) as http:
            zero = await http.post(f"/v1/stock/{sku}/receipts", json={"quantity": 0}, headers=OPS)
            unknown = await http.post(
                f"/v1/stock/{new_id('SKU')}/receipts", json={"quantity": 1}, headers=OPS
            )
            first = await http.post(
                f"/v1/stock/{sku}/receipts", json={"quantity": 2, "receipt_id": "r-1"}, headers=OPS
            )
            other = await http.post(
                f"/v1/stock/{sku}/receipts", json={"quantity": 5, "receipt_id": "r-1"}, headers=OPS
            )
            past = await http.put(
                f"/v1/stock/{sku}/restock-date",
                json={"expected_on": (date.today() - timedelta(days=2)).isoformat()},
                headers=OPS,
            )
            anonymous = await http.post(f"/v1/stock/{sku}/receipts", json={"quantity": 1})
        level = await lg.stock(sku)
    assert zero.status_code == 422 and "quantity" in zero.text
    assert unknown.status_code == 404 and unknown.json()["error"] == "unknown_sku"
    assert first.status_code == 201
    assert other.status_code == 409 and "receipt_id" in other.text
    assert past.status_code == 422 and "expected_on" in past.text
    assert anonymous.status_code == 401
    assert level["on_hand"] == 2, "counted once"


async def test_goods_of_a_parcel_back_at_the_shop_go_to_the_order_that_waits(
    lg: Logistics, tail: TopicTail
) -> None:
    refused, waiting = new_id("ord"), new_id("ord")
    async with lg.running() as runtime:
        mug, tea = await lg.stocked(on_hand=1), await lg.stocked(on_hand=10)
        cod = placed([(mug, 1)], method=PaymentMethod.CASH_ON_DELIVERY)
        await lg.send(cod, refused)
        [shipped] = await tail.wait_for(of(refused, "ShipmentShipped"))
        await lg.send(placed([(mug, 1), (tea, 1)]), waiting)  # the mug is on its way
        await tail.wait_for(of(waiting, "StockBackordered"))
        courier, tracking = payload(shipped)["courier"], payload(shipped)["tracking_number"]
        sandbox = f"/sandbox/carriers/{courier}/parcels/{tracking}"
        async with client(runtime) as http:
            for step in ("advance", "refuse", "advance", "advance"):  # refused, then home
                assert (await http.post(f"{sandbox}/{step}")).status_code == 200
        await tail.wait_for(of(refused, "ShipmentReturnedToShop"))
        [filled] = await tail.wait_for(of(waiting, "BackorderFilled"))
        level, left = await lg.stock(mug), await queue(lg, mug)
    assert [(x["sku"], x["quantity"]) for x in payload(filled)["lines"]] == [(mug, 1)]
    assert (level["on_hand"], level["reserved"]) == (1, 1), "the waiting order holds it"
    assert left == []


async def test_a_changed_restock_date_is_told_once_to_each_order_still_waiting_for_it(
    lg: Logistics, tail: TopicTail
) -> None:
    first, second, still_open, dropped = (new_id("ord") for _ in range(4))
    async with lg.running():
        mug, tea = await lg.stocked(on_hand=0), await lg.stocked(on_hand=10)
        for order_id in (first, second, still_open, dropped):
            await lg.send(placed([(mug, 1), (tea, 1)]), order_id)
            await tail.wait_for(of(order_id, "StockBackordered"))
        for order_id, answer in ((first, "wait"), (second, "wait"), (dropped, "ship_available")):
            await lg.send(choice(answer), order_id)
        await tail.wait_for(of(dropped, "BackorderDropped"))
        for order_id in (first, second):
            await tail.wait_for(of(order_id, "BackorderWaiting"))
        expected = date.today() + timedelta(days=6)
        moved = await restock_date(lg, mug, expected.isoformat())
        again = await restock_date(lg, mug, expected.isoformat())  # the same date: nobody
        cleared = await restock_date(lg, mug, None)
        for order_id in (first, second, still_open):
            await tail.wait_for(of(order_id, "BackorderRestockDateChanged"), count=2)
        await tail.poll()
    assert (moved["told"], again["told"], cleared["told"]) == (3, 0, 3)
    for order_id in (first, second, still_open):
        told = [payload(r) for r in tail.records if of(order_id, "BackorderRestockDateChanged")(r)]
        assert [t["restock_expected"] for t in told] == [expected.isoformat(), None], order_id
        assert [(x["sku"], x["quantity"], x["restock_expected"]) for x in told[0]["lines"]] == [
            (mug, 1, expected.isoformat())
        ]
    assert "BackorderRestockDateChanged" not in lg.told(dropped), "it waits for nothing"


async def restock_date(lg: Logistics, sku: str, expected_on: str | None) -> dict[str, Any]:
    async with client(lg.runtime) as http:
        response = await http.put(
            f"/v1/stock/{sku}/restock-date", json={"expected_on": expected_on}, headers=OPS
        )
    assert response.status_code == 200, response.text
    return dict(response.json())


def _counted() -> dict[tuple[str, str], float]:
    """fulfil_backorders_total by (step, chosen_by), as logistics exports it."""
    return {
        (sample.labels["step"], sample.labels["chosen_by"]): sample.value
        for metric in REGISTRY.collect()
        if metric.name == "fulfil_backorders"
        for sample in metric.samples
        if sample.name == "fulfil_backorders_total"
    }
