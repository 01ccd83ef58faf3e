"""Exchanges on the real broker and database: the replacement of a delivered line is held
when returns asks (or refused, and why), given back when the exchange is cancelled, sent
once when returns releases it, with the courier booked, and told delivered once, without a
word about the order's own parcels; and the units returned go back on the shelf once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prometheus_client import REGISTRY

from shared.contracts.events.common import LineQuantity
from shared.contracts.events.order import BackorderChoiceMade
from shared.contracts.events.returns import (
    ExchangeCancelled,
    ExchangeReleased,
    ExchangeRequested,
    ExchangeReturnReceived,
)
from tests.integration.logistics.support import Logistics, of, placed
from tests.support.db import until_handled
from tests.support.events import new_id, paid, payload
from tests.support.http import OPS, client
from tests.support.kafka import Record, TopicTail

# what an exchange's parcel never tells of its order
ORDER_FACTS = {
    "ShipmentShipped",
    "CheckpointReached",
    "ShipmentWentOutForDelivery",
    "ShipmentDelivered",
    "ShippingPromiseSet",
    "ShipmentDelayed",
    "StockReleased",
}


async def shelf(lg: Logistics, sku: str, on_hand: int, name: str, variant: str) -> None:
    async with client(lg.runtime) as http:
        body = {"on_hand": on_hand, "name": name, "variant": variant}
        response = await http.put(f"/v1/stock/{sku}", json=body, headers=OPS)
    assert response.status_code == 200, response.text


async def variants(lg: Logistics, m: int, l: int) -> tuple[str, str]:  # noqa: E741
    """Two new SKUs of one product, sizes M and L, with these many on the shelf."""
    medium, large = new_id("TEE-M"), new_id("TEE-L")
    await shelf(lg, medium, m, "Tee", "M")
    await shelf(lg, large, l, "Tee", "L")
    return medium, large


async def delivered(lg: Logistics, tail: TopicTail, sku: str, quantity: int = 2) -> str:
    """An order of `quantity` of the SKU at 99.00 each, paid and on its way: its id."""
    order_id = new_id("ord")
    await lg.reserve(order_id, sku, quantity)
    await lg.send(paid(9_900 * quantity), order_id)
    await tail.wait_for(of(order_id, "ShipmentShipped"))
    return order_id


def asked(sku: str, replacement: str, quantity: int = 2) -> ExchangeRequested:
    return ExchangeRequested(
        exchange_id=new_id("exc"),
        reason="wrong_size",
        line=LineQuantity(line_id="l1", sku=sku, quantity=quantity),
        replacement_sku=replacement,
        actor="customer",
    )


def answers(tail: TopicTail, order_id: str) -> list[Record]:
    return [r for r in tail.records if of(order_id, "ExchangeReserved", "ExchangeUnavailable")(r)]


async def test_the_replacement_is_held_once_at_the_catalogues_price_else_the_lines(
    lg: Logistics, tail: TopicTail
) -> None:
    async with lg.running() as runtime:
        medium, large = await variants(lg, m=5, l=3)
        order_id = await delivered(lg, tail, medium)
        request = asked(medium, large)
        first = await lg.send(request, order_id)
        await lg.resend(first)  # delivered twice
        again = await lg.send(request, order_id)  # and asked again by a new event
        [reserved] = await tail.wait_for(of(order_id, "ExchangeReserved"))
        await until_handled(runtime, first, again)
        held = await lg.stock(large)

        async with client(runtime) as http:
            put = await http.put(
                f"/v1/prices/{large}", json={"amount": 10_900, "currency": "CNY"}, headers=OPS
            )
        assert put.status_code == 200, put.text
        priced = await delivered(lg, tail, medium, quantity=1)
        await lg.send(asked(medium, large, quantity=1), priced)
        [at_price] = await tail.wait_for(of(priced, "ExchangeReserved"))
    body = payload(reserved)
    assert body["exchange_id"] == request.exchange_id and body["warehouse"] == "main"
    assert body["replacement"] == {
        "sku": large, "name": "Tee", "variant": "L", "quantity": 2,
        "unit_price": {"amount": 9_900, "currency": "CNY"},
    }, "no catalogue price: the line's own"  # fmt: skip
    assert len(answers(tail, order_id)) == 1, "held once"
    assert (held["on_hand"], held["reserved"]) == (3, 2)
    assert payload(at_price)["replacement"]["unit_price"]["amount"] == 10_900
    assert not ORDER_FACTS & set(lg.told(order_id)[3:]), "nothing told of the order's parcels"


async def test_an_unknown_sku_another_product_or_too_few_free_is_refused_and_holds_nothing(
    lg: Logistics, tail: TopicTail
) -> None:
    async with lg.running():
        medium, large = await variants(lg, m=5, l=3)
        mug = new_id("MUG")
        await shelf(lg, mug, 9, "Mug", "Blue")
        order_id = await delivered(lg, tail, medium)
        await lg.reserve(new_id("ord"), large, 2)  # an order holds two of the three
        for replacement in (new_id("NONE"), mug, large):
            await lg.send(asked(medium, replacement), order_id)
        told = await tail.wait_for(of(order_id, "ExchangeUnavailable"), count=3)
        level = await lg.stock(large)
    assert [payload(r)["reason"] for r in told] == [
        "unknown_sku",
        "not_same_product",
        "out_of_stock",
    ]
    assert all(payload(r)["message"] for r in told)
    assert (level["on_hand"], level["reserved"]) == (3, 2), "the order's units are not taken"
    assert "ExchangeReserved" not in lg.told(order_id)


async def test_a_cancelled_exchange_gives_its_units_to_the_order_that_waits_and_never_ships(
    lg: Logistics, tail: TopicTail
) -> None:
    waiting = new_id("ord")
    async with lg.running() as runtime:
        medium, large = await variants(lg, m=5, l=2)
        order_id = await delivered(lg, tail, medium)
        request = asked(medium, large)
        await lg.send(request, order_id)
        await tail.wait_for(of(order_id, "ExchangeReserved"))
        await lg.send(placed([(large, 1), (medium, 1)]), waiting)  # none of L is free
        await tail.wait_for(of(waiting, "StockBackordered"))
        await lg.send(paid(19_800), waiting)
        wait = BackorderChoiceMade(choice="wait", chosen_at=datetime.now(UTC))
        await lg.send(wait, waiting)
        await tail.wait_for(of(waiting, "BackorderWaiting"))

        cancelled = ExchangeCancelled(exchange_id=request.exchange_id, reason="unpaid")
        once = await lg.send(cancelled, order_id)
        twice = await lg.send(cancelled, order_id)  # told twice
        late = await lg.send(
            ExchangeReleased(exchange_id=request.exchange_id, replacement=_item(tail, order_id)),
            order_id,
        )  # a release after the cancellation ships nothing
        await tail.wait_for(of(waiting, "BackorderFilled"))
        await tail.wait_for(of(waiting, "ShipmentShipped"))
        await until_handled(runtime, once, twice, late)
        level = await lg.stock(large)
        async with runtime.db.acquire() as conn:
            parcels = await conn.fetchval(
                "SELECT count(*) FROM shipments WHERE exchange_id = $1", request.exchange_id
            )
    await tail.poll()
    assert parcels == 0 and "ExchangeShipped" not in lg.told(order_id)
    assert (level["on_hand"], level["reserved"]) == (1, 0), "the waiting order shipped one"
    assert not ORDER_FACTS & set(lg.told(order_id)[3:])


def _item(tail: TopicTail, order_id: str) -> dict:
    [reserved] = [r for r in tail.records if of(order_id, "ExchangeReserved")(r)]
    return dict(payload(reserved)["replacement"])


async def test_a_released_exchange_ships_once_is_delivered_once_and_tells_nothing_of_the_order(
    lg: Logistics, tail: TopicTail
) -> None:
    async with lg.running() as runtime:
        medium, large = await variants(lg, m=5, l=3)
        order_id = await delivered(lg, tail, medium)
        request = asked(medium, large)
        await lg.send(request, order_id)
        await tail.wait_for(of(order_id, "ExchangeReserved"))
        before = lg.told(order_id)
        released = ExchangeReleased(
            exchange_id=request.exchange_id, replacement=_item(tail, order_id)
        )
        first = await lg.send(released, order_id)
        await lg.resend(first)  # delivered twice
        await lg.send(released, order_id)  # and told again
        [shipped] = await tail.wait_for(of(order_id, "ExchangeShipped"))
        body = payload(shipped)
        cancelled = ExchangeCancelled(exchange_id=request.exchange_id, reason="unpaid")
        late = await lg.send(cancelled, order_id)  # after shipping: changes nothing
        await until_handled(runtime, late)
        at = datetime.now(UTC)
        deliveries = _deliveries()
        reports = [
            (f"{request.exchange_id}-{i}", at, status)
            for i, status in enumerate(("in_transit", "out_for_delivery", "delivered"))
        ]
        reports += [
            (f"{request.exchange_id}-2", at, "delivered"),  # reported twice
            (f"{request.exchange_id}-3", at + timedelta(minutes=5), "delivered"),  # again
            (f"{request.exchange_id}-4", at - timedelta(hours=1), "delivered"),  # a late one
        ]
        for checkpoint_id, when, status in reports:
            answer = await lg.post_checkpoint(
                body["courier"], body["tracking_number"], checkpoint_id, when, status
            )
            assert answer.status_code == 200, answer.text
        [arrived] = await tail.wait_for(of(order_id, "ExchangeDelivered"))
        level = await lg.stock(large)
        async with runtime.db.acquire() as conn:
            parcel = await conn.fetchrow(
                "SELECT status, order_id FROM shipments WHERE exchange_id = $1",
                request.exchange_id,
            )
        await lg.settled_stock(large)  # everything before it was taken
        await lg.send(asked(medium, new_id("NONE")), order_id)  # told after all of the above
        await tail.wait_for(of(order_id, "ExchangeUnavailable"))
    assert body["exchange_id"] == request.exchange_id
    assert body["tracking_number"].startswith(body["courier"].upper()), "booked with the courier"
    assert body["replacement"]["sku"] == large and body["replacement"]["quantity"] == 2
    assert body["address"]["city"] == "Hangzhou"
    assert lg.told(order_id).count("ExchangeShipped") == 1
    assert (level["on_hand"], level["reserved"]) == (1, 0), "the two units left with it"
    assert (parcel["status"], parcel["order_id"]) == ("delivered", order_id), "tracked"
    after = lg.told(order_id)[len(before) :]
    assert after == ["ExchangeShipped", "ExchangeDelivered", "ExchangeUnavailable"], (
        "delivered once, and no parcel fact of the order's"
    )
    told = payload(arrived)
    assert datetime.fromisoformat(told.pop("delivered_at")) == at, "the first delivery's time"
    assert told == {
        "exchange_id": request.exchange_id,
        "shipment_id": body["shipment_id"],
        "courier": body["courier"],
        "tracking_number": body["tracking_number"],
    }
    assert _deliveries() == deliveries, "nor is it counted among the orders' deliveries"


async def test_with_warehouse_steps_the_exchange_parcel_is_booked_directly(
    lg: Logistics, tail: TopicTail
) -> None:
    async with lg.running(warehouse_steps=True) as runtime:
        medium, large = await variants(lg, m=5, l=3)
        order_id = new_id("ord")
        await lg.reserve(order_id, medium, 2)  # its own parcel waits in the warehouse
        await lg.send(paid(19_800), order_id)
        await tail.wait_for(of(order_id, "ShippingPromiseSet"))
        request = asked(medium, large)
        await lg.send(request, order_id)
        await tail.wait_for(of(order_id, "ExchangeReserved"))
        released = ExchangeReleased(
            exchange_id=request.exchange_id, replacement=_item(tail, order_id)
        )
        await lg.send(released, order_id)
        [shipped] = await tail.wait_for(of(order_id, "ExchangeShipped"))
        async with client(runtime) as http:
            picks = await http.get("/v1/ops/pick-list", headers=OPS)
    assert picks.status_code == 200, picks.text
    listed = [p["shipment_id"] for p in picks.json()["pick_list"] if p["order_id"] == order_id]
    assert len(listed) == 1 and payload(shipped)["shipment_id"] not in listed
    assert "ShipmentShipped" not in lg.told(order_id), "the order's own parcel still waits"


async def test_the_units_returned_go_back_on_the_shelf_once(lg: Logistics, tail: TopicTail) -> None:
    async with lg.running() as runtime:
        medium, _ = await variants(lg, m=5, l=3)
        order_id = await delivered(lg, tail, medium)
        shelf_after_shipping = await lg.stock(medium)
        back = ExchangeReturnReceived(
            exchange_id=new_id("exc"),
            lines=(LineQuantity(line_id="l1", sku=medium, quantity=2),),
            received_at=datetime.now(UTC),
            actor="operations",
        )
        once = await lg.send(back, order_id)
        await lg.resend(once)  # delivered twice
        twice = await lg.send(back, order_id)  # and told again
        await until_handled(runtime, once, twice)
        level = await lg.stock(medium)
    assert shelf_after_shipping["on_hand"] == 3
    assert (level["on_hand"], level["reserved"]) == (5, 0), "restocked once"


async def test_a_short_count_keeps_the_exchanges_units_and_withdraws_the_order(
    lg: Logistics, tail: TopicTail
) -> None:
    async with lg.running():
        medium, large = await variants(lg, m=5, l=3)
        order_id = await delivered(lg, tail, medium)
        await lg.send(asked(medium, large), order_id)
        await tail.wait_for(of(order_id, "ExchangeReserved"))
        later = new_id("ord")
        await lg.reserve(later, large, 1)
        await shelf(lg, large, 2, "Tee", "L")  # a miscount: two, not three
        [short] = await tail.wait_for(of(later, "StockRanShort"))
        level = await lg.stock(large)
    assert payload(short)["lines"][0]["available"] == 0
    assert (level["on_hand"], level["reserved"]) == (2, 2), "the exchange keeps its two"


def _deliveries() -> float:
    """The orders' parcels delivered so far, as the funnel reads logistics' metrics."""
    count = REGISTRY.get_sample_value("fulfil_ship_to_deliver_duration_seconds_count")
    return count or 0.0
