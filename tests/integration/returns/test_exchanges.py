"""Exchanges end to end on the real broker and database: from the customer's request and
logistics' reservation to the replacement released, shipped and delivered, with the
difference charged or refunded once."""

from __future__ import annotations

from shared.runtime import Runtime
from tests.integration.returns.exchange_support import (
    TEA_1,
    act,
    ask_exchange,
    awaiting_return,
    captured,
    delivered,
    delivered_order,
    fetch_exchange,
    pay_deadline_now,
    receive,
    reserved,
    return_deadline_now,
    shipped,
    unavailable,
    until_exchange,
)
from tests.integration.returns.support import PAID, ask, until_order
from tests.support.db import until_handled
from tests.support.events import new_id, payloads, resend, seen, send
from tests.support.http import customer
from tests.support.kafka import TopicTail


async def test_a_same_price_exchange_is_released_once_the_units_are_back(
    returns: Runtime, tail: TopicTail
) -> None:
    order_id = await delivered_order(returns)

    response = await ask_exchange(returns, order_id, {**TEA_1, "reason": "changed_mind"})

    assert response.status_code == 201, response.text
    exchange_id = response.json()["id"]
    assert response.json()["status"] == "requested"
    [asked] = await payloads(tail, order_id, "ExchangeRequested")
    assert asked["line"] == {"line_id": "l1", "sku": "SKU-TEA", "quantity": 1}
    assert (asked["replacement_sku"], asked["actor"]) == ("SKU-TEA-GREEN", "customer")
    await send(returns, reserved(exchange_id, 5_000), order_id)
    [accepted] = await payloads(tail, order_id, "ExchangeAccepted")
    assert (accepted["settlement"], accepted["ships"]) == ("none", "on_return")
    assert accepted["return_shipping_paid_by"] == "customer" and accepted["pay_by"] is None
    await until_exchange(returns, exchange_id, order_id, "accepted")
    parcel = {"courier": "sf-express", "tracking_number": "SF-BACK-1"}
    reported = await act(returns, exchange_id, "return-shipment", customer(order_id), parcel)
    assert reported.status_code == 200, reported.text
    await payloads(tail, order_id, "ExchangeReturnShipped")

    received = await receive(returns, exchange_id)

    assert received.status_code == 200, received.text
    assert received.json()["status"] == "released"
    [back] = await payloads(tail, order_id, "ExchangeReturnReceived")
    assert back["lines"] == [{"line_id": "l1", "sku": "SKU-TEA", "quantity": 1}]
    [released] = await payloads(tail, order_id, "ExchangeReleased")
    assert released["replacement"]["sku"] == "SKU-TEA-GREEN"
    again = await receive(returns, exchange_id)
    assert again.status_code == 409 and again.json()["error"] == "wrong_state"
    sent = shipped(exchange_id, 5_000)
    await send(returns, sent, order_id)
    assert (await until_exchange(returns, exchange_id, order_id, "shipped"))["delivered_at"] is None
    arrived = await send(returns, delivered(sent), order_id)
    await resend(returns, arrived)  # delivered twice
    again = await send(returns, delivered(sent), order_id)  # and told again
    await until_handled(returns, arrived, again)
    done = await until_exchange(returns, exchange_id, order_id, "delivered", delivered_at=True)
    assert done["shipment"]["courier"] == "sf-express"
    assert [s["action"] for s in done["steps"]] == [
        "requested",
        "accepted",
        "return_shipped",
        "return_received",
        "released",
        "shipped",
        "delivered",
    ]
    assert exchange_id not in [x["id"] for x in await awaiting_return(returns)]
    assert len(seen(tail, order_id, "ExchangeReleased")) == 1
    assert not seen(tail, order_id, "RefundRequested"), "nothing to refund at the same price"


async def test_a_cheaper_replacement_is_refunded_its_difference_once_after_the_return(
    returns: Runtime, tail: TopicTail
) -> None:
    order_id = await delivered_order(returns)
    exchange_id = (
        await ask_exchange(returns, order_id, {**TEA_1, "reason": "changed_mind"})
    ).json()["id"]
    await send(returns, reserved(exchange_id, 4_200), order_id)
    [accepted] = await payloads(tail, order_id, "ExchangeAccepted")
    assert accepted["settlement"] == "refund"
    assert accepted["difference"] == {"amount": 800, "currency": "CNY"}
    await until_exchange(returns, exchange_id, order_id, "accepted")
    assert not seen(tail, order_id, "RefundRequested"), "refunded only once the units are back"

    received = await receive(returns, exchange_id)

    assert received.status_code == 200, received.text
    [requested] = await payloads(tail, order_id, "RefundRequested")
    [approved] = await payloads(tail, order_id, "RefundApproved")
    assert (requested["flow"], requested["reason"], requested["lines"]) == (
        "no_return",
        "exchange_difference",
        [],
    )
    assert requested["actor"] == "system" and requested["amount"]["amount"] == 800
    assert (approved["actor"], approved["amount"]["amount"]) == ("system", 800)
    assert approved["refund_request_id"] == received.json()["refund_request_id"]
    await payloads(tail, order_id, "ExchangeReleased")
    assert (await receive(returns, exchange_id)).status_code == 409
    await send(returns, shipped(exchange_id, 4_200), order_id)
    await until_exchange(returns, exchange_id, order_id, "shipped")
    assert len(seen(tail, order_id, "RefundApproved")) == 1


async def test_a_dearer_replacement_is_released_only_once_its_difference_is_paid(
    returns: Runtime, tail: TopicTail
) -> None:
    order_id = await delivered_order(returns)
    exchange_id = (
        await ask_exchange(returns, order_id, {**TEA_1, "reason": "changed_mind"})
    ).json()["id"]
    await send(returns, reserved(exchange_id, 6_000), order_id)
    [accepted] = await payloads(tail, order_id, "ExchangeAccepted")
    assert accepted["settlement"] == "charge" and accepted["pay_by"] is not None
    assert accepted["difference"] == {"amount": 1_000, "currency": "CNY"}
    await until_exchange(returns, exchange_id, order_id, "accepted")

    received = await receive(returns, exchange_id)

    assert received.status_code == 200 and received.json()["status"] == "accepted"
    await payloads(tail, order_id, "ExchangeReturnReceived")
    assert not seen(tail, order_id, "ExchangeReleased"), "not before the difference is paid"
    await send(returns, captured(exchange_id, 1_000), order_id)
    [released] = await payloads(tail, order_id, "ExchangeReleased")
    assert released["exchange_id"] == exchange_id
    paid = await until_exchange(returns, exchange_id, order_id, "released", paid_at=True)
    assert [s["action"] for s in paid["steps"]][-2:] == ["paid", "released"]
    order = await until_order(returns, order_id, lambda o: o.paid == PAID + 1_000)
    assert order.paid == PAID + 1_000, "the refund ceiling includes the capture"


async def test_an_unpaid_difference_cancels_the_exchange_at_its_deadline(
    returns: Runtime, tail: TopicTail
) -> None:
    order_id = await delivered_order(returns)
    exchange_id = (
        await ask_exchange(returns, order_id, {**TEA_1, "reason": "changed_mind"})
    ).json()["id"]
    await send(returns, reserved(exchange_id, 6_000), order_id)
    await until_exchange(returns, exchange_id, order_id, "accepted")
    blocked = await ask(returns, order_id, {"reason": "changed_mind", "lines": [TEA_LINE]})
    assert blocked.status_code == 409 and blocked.json()["error"] == "line_has_open_request"

    await pay_deadline_now(returns, exchange_id)

    [cancelled] = await payloads(tail, order_id, "ExchangeCancelled")
    assert cancelled == {"exchange_id": exchange_id, "reason": "unpaid"}
    found = await until_exchange(returns, exchange_id, order_id, "cancelled")
    assert found["outcome_reason"] == "unpaid"
    await send(returns, captured(exchange_id, 1_000), order_id)  # too late: payment's to refund
    await send(returns, reserved(exchange_id, 6_000), order_id)  # nothing resurrects it
    refund = await ask(returns, order_id, {"reason": "changed_mind", "lines": [TEA_LINE]})
    assert refund.status_code == 201, "the line is free again"
    assert refund.json()["amount"]["amount"] == 5_000
    assert (await fetch_exchange(returns, exchange_id, order_id))["status"] == "cancelled"
    assert not seen(tail, order_id, "ExchangeReleased")


async def test_a_replacement_logistics_cannot_hold_refuses_the_exchange(
    returns: Runtime, tail: TopicTail
) -> None:
    order_id = await delivered_order(returns)
    exchange_id = (
        await ask_exchange(returns, order_id, {**TEA_1, "reason": "changed_mind"})
    ).json()["id"]

    await send(returns, unavailable(exchange_id), order_id)

    [refused] = await payloads(tail, order_id, "ExchangeRefused")
    assert refused == {
        "exchange_id": exchange_id,
        "reason": "out_of_stock",
        "message": "no green tea left",
    }
    found = await until_exchange(returns, exchange_id, order_id, "refused")
    assert found["outcome_message"] == "no green tea left"
    await send(returns, reserved(exchange_id, 5_000), order_id)  # a late reservation
    refund = await ask(returns, order_id, {"reason": "changed_mind", "lines": [TEA_LINE]})
    assert refund.status_code == 201, "the customer may ask for a refund instead"
    assert (await fetch_exchange(returns, exchange_id, order_id))["status"] == "refused"


async def test_events_delivered_twice_have_one_outcome(returns: Runtime, tail: TopicTail) -> None:
    order_id = await delivered_order(returns)
    exchange_id = (
        await ask_exchange(returns, order_id, {**TEA_1, "reason": "changed_mind"})
    ).json()["id"]
    reservation = await send(returns, reserved(exchange_id, 6_000), order_id)
    await resend(returns, reservation)
    await until_exchange(returns, exchange_id, order_id, "accepted")
    assert (await receive(returns, exchange_id)).status_code == 200

    capture = await send(returns, captured(exchange_id, 1_000), order_id)
    await resend(returns, capture)
    await send(returns, captured(exchange_id, 1_000), order_id)  # another capture, not counted
    await payloads(tail, order_id, "ExchangeReleased")
    shipping = await send(returns, shipped(exchange_id, 6_000), order_id)
    await resend(returns, shipping)

    found = await until_exchange(returns, exchange_id, order_id, "shipped")
    assert [s["action"] for s in found["steps"]].count("paid") == 1
    order = await until_order(returns, order_id, lambda o: o.paid > PAID)
    assert order.paid == PAID + 1_000, "the capture counted once"
    assert len(seen(tail, order_id, "ExchangeAccepted")) == 1
    assert len(seen(tail, order_id, "ExchangeReleased")) == 1


async def test_a_quality_problem_ships_at_once_and_the_shop_pays_the_return(
    returns: Runtime, tail: TopicTail
) -> None:
    order_id = await delivered_order(returns)
    exchange_id = (await ask_exchange(returns, order_id, {**TEA_1, "reason": "damaged"})).json()[
        "id"
    ]

    await send(returns, reserved(exchange_id, 5_000), order_id)

    [accepted] = await payloads(tail, order_id, "ExchangeAccepted")
    assert (accepted["ships"], accepted["return_shipping_paid_by"]) == ("at_once", "shop")
    await payloads(tail, order_id, "ExchangeReleased")
    sent = shipped(exchange_id, 5_000)
    await send(returns, sent, order_id)
    await until_exchange(returns, exchange_id, order_id, "shipped")
    await send(returns, delivered(sent), order_id)
    await until_exchange(returns, exchange_id, order_id, "delivered")
    [queued] = [x for x in await awaiting_return(returns) if x["id"] == exchange_id]
    assert queued["status"] == "delivered", "its units are still due back"
    both = await ask(returns, order_id, {"reason": "changed_mind", "lines": [TEA_2]})
    assert both.status_code == 422 and both.json()["error"] == "over_refund", "one is exchanged"
    received = await receive(returns, exchange_id)  # the damaged units come back later
    assert received.status_code == 200, received.text
    assert received.json()["return_received_at"] is not None
    assert received.json()["status"] == "delivered"
    await payloads(tail, order_id, "ExchangeReturnReceived")
    assert len(seen(tail, order_id, "ExchangeReleased")) == 1
    assert exchange_id not in [x["id"] for x in await awaiting_return(returns)]


async def test_a_delivery_before_the_shipment_or_of_an_unknown_exchange_changes_nothing(
    returns: Runtime, tail: TopicTail
) -> None:
    order_id = await delivered_order(returns)
    exchange_id = (await ask_exchange(returns, order_id, {**TEA_1, "reason": "damaged"})).json()[
        "id"
    ]
    await send(returns, reserved(exchange_id, 5_000), order_id)
    await until_exchange(returns, exchange_id, order_id, "released")
    sent = shipped(exchange_id, 5_000)

    early = await send(returns, delivered(sent), order_id)  # before its ExchangeShipped
    unknown = await send(
        returns, delivered(shipped(new_id("ex"), 5_000)), order_id
    )  # not an exchange of this service
    await until_handled(returns, early, unknown)

    found = await fetch_exchange(returns, exchange_id, order_id)
    assert (found["status"], found["delivered_at"]) == ("released", None)
    assert "delivered" not in [s["action"] for s in found["steps"]]
    await send(returns, sent, order_id)
    shipped_now = await until_exchange(returns, exchange_id, order_id, "shipped")
    assert shipped_now["delivered_at"] is None, "the early delivery was not kept"


TEA_LINE = {"line_id": "l1", "quantity": 1}
TEA_2 = {"line_id": "l1", "quantity": 2}


async def test_units_never_sent_back_cancel_the_exchange_and_free_the_line(
    returns: Runtime, tail: TopicTail
) -> None:
    order_id = await delivered_order(returns)
    exchange_id = (
        await ask_exchange(returns, order_id, {**TEA_1, "reason": "changed_mind"})
    ).json()["id"]
    await send(returns, reserved(exchange_id, 5_000), order_id)
    [accepted] = await payloads(tail, order_id, "ExchangeAccepted")
    assert accepted["return_by"], "the customer is told by when to send the units"
    await until_exchange(returns, exchange_id, order_id, "accepted")

    await return_deadline_now(returns, exchange_id)

    [cancelled] = await payloads(tail, order_id, "ExchangeCancelled")
    assert cancelled == {"exchange_id": exchange_id, "reason": "not_returned"}
    found = await until_exchange(returns, exchange_id, order_id, "cancelled")
    assert found["outcome_reason"] == "not_returned"
    late = await act(
        returns, exchange_id, "return-shipment", customer(order_id),
        {"courier": "sf-express", "tracking_number": "SF-LATE"},
    )  # fmt: skip
    assert late.status_code == 409 and late.json()["error"] == "wrong_state"
    refund = await ask(returns, order_id, {"reason": "changed_mind", "lines": [TEA_LINE]})
    assert refund.status_code == 201, "the line is free again"
    assert not seen(tail, order_id, "ExchangeReleased")


async def test_a_return_on_its_way_stops_the_clock(returns: Runtime, tail: TopicTail) -> None:
    order_id = await delivered_order(returns)
    exchange_id = (
        await ask_exchange(returns, order_id, {**TEA_1, "reason": "changed_mind"})
    ).json()["id"]
    await send(returns, reserved(exchange_id, 5_000), order_id)
    await until_exchange(returns, exchange_id, order_id, "accepted")
    parcel = {"courier": "sf-express", "tracking_number": "SF-ONTIME"}
    sent = await act(returns, exchange_id, "return-shipment", customer(order_id), parcel)
    assert sent.status_code == 200, sent.text
    async with returns.db.acquire() as conn:
        left = await conn.fetchval(
            """SELECT count(*) FROM timers
               WHERE kind = 'exchange_return_by' AND key = $1 AND state = 'pending'""",
            exchange_id,
        )
    assert left == 0, "no deadline once the units are on their way"
    assert not seen(tail, order_id, "ExchangeCancelled")
