"""A few hundred orders through every path, then, for every order: its terminal state, a
complete and ordered timeline, exactly the expected customer messages (none twice), a
balanced ledger; and stock that adds up (on hand = initial - shipped + returned)."""

from __future__ import annotations

import asyncio
import os
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from deploy.demo.shop import Shop, order_body
from tests.e2e.journeys import Driver, Journey, poll

ORDERS = int(os.environ.get("FULFIL_E2E_ORDERS", "220"))
CONCURRENCY = 24
INITIAL = 100_000
CATALOGUE = (
    {"sku": "E2E-TEE-M", "name": "Cotton tee", "variant": "M / white", "price": 9900},
    {"sku": "E2E-MUG-350", "name": "Ceramic mug", "variant": "350 ml", "price": 4500},
    {"sku": "E2E-BAG-TOTE", "name": "Canvas tote", "variant": None, "price": 12900},
)
SCARCE = {"sku": "E2E-LAMP-LTD", "name": "Limited lamp", "variant": "brass", "price": 59900}

PAID_PATH = frozenset({"order_confirmation", "payment_received", "shipped"})
# the sandbox courier reports "arrived in the destination city" as `arrived_in_city`: told
DELIVERED_PATH = PAID_PATH | {"arrived_in_city", "out_for_delivery", "delivered"}
REFUND = frozenset({"refund_requested", "refund_approved", "refund_paid"})

Scenario = Callable[[Driver, dict[str, Any]], Awaitable[Journey]]


async def pay_and_complete(d: Driver, o: dict[str, Any]) -> Journey:
    await d.pay(o["order_id"])
    await d.deliver(o["order_id"])
    await d.shop.confirm_receipt(o["order_id"])
    await d.status(o["order_id"], "completed")
    return Journey("pay and confirm", "completed", None, DELIVERED_PATH | {"order_completed"})


async def duplicate_callbacks(d: Driver, o: dict[str, Any]) -> Journey:
    await d.pay(o["order_id"], repeat=4)
    await d.deliver(o["order_id"])
    await d.status(o["order_id"], "completed")  # auto-confirmation after delivery
    return Journey("callback x4", "completed", None, DELIVERED_PATH | {"order_completed"})


async def cash_on_delivery(d: Driver, o: dict[str, Any]) -> Journey:
    await d.deliver(o["order_id"])
    order = await d.status(o["order_id"], "completed")
    assert order["totals"]["paid"]["amount"] == order["totals"]["total"]["amount"]
    return Journey("cash on delivery", "completed", None, DELIVERED_PATH | {"order_completed"})


async def refused_at_door(d: Driver, o: dict[str, Any]) -> Journey:
    """Cash on delivery: the customer refuses the parcel at the door. Nothing is charged,
    the order ends refused, and the goods are back on the shelf once the parcel is."""
    order = await d.status(o["order_id"], "shipped")
    courier, tracking = order["shipment"]["courier"], order["shipment"]["tracking_number"]
    await d.shop.advance_parcel(courier, tracking)  # picked up: on its way
    await d.shop.refuse_parcel(courier, tracking)
    await d.status(o["order_id"], "refused")
    await d.bring_back(courier, tracking, o["order_id"])
    return Journey(
        "refused at the door", "refused", 0,
        frozenset({"order_confirmation", "shipped", "delivery_refused"}), returned=True,
    )  # fmt: skip


async def refused_prepaid(d: Driver, o: dict[str, Any]) -> Journey:
    """Paid in advance and refused at the door: once the parcel is back with the shop, the
    goods are refunded by themselves (no postage here, so the whole payment)."""
    await d.pay(o["order_id"])
    order = await d.status(o["order_id"], "shipped")
    courier, tracking = order["shipment"]["courier"], order["shipment"]["tracking_number"]
    await d.shop.advance_parcel(courier, tracking)
    await d.shop.refuse_parcel(courier, tracking)
    await d.until(
        o["order_id"],
        lambda x: any(e["kind"] == "parcel_refused" for e in x["timeline"]),
        "the refusal on the timeline",
    )
    await d.bring_back(courier, tracking, o["order_id"])
    await d.status(o["order_id"], "refunded")
    return Journey(
        "refused, prepaid", "refunded", 0, PAID_PATH | {"refund_approved", "refund_paid"},
        optional=frozenset({"refund_requested"}), returned=True,
    )  # fmt: skip


async def never_pay(d: Driver, o: dict[str, Any]) -> Journey:
    await d.status(o["order_id"], "closed")
    return Journey(
        "never paid", "closed", 0, frozenset({"order_confirmation", "order_closed"}),
        reminders=(0, 3), shipped=False,  # at most the cap; at least one across all of them
    )  # fmt: skip


async def late_payment(d: Driver, o: dict[str, Any]) -> Journey:
    url = await d.checkout(o["order_id"])
    await d.status(o["order_id"], "closed")
    await d.shop.complete_checkout(url)
    await poll(lambda: _refunded(d, o["order_id"]), f"{o['order_id']} late payment refunded")
    return Journey(
        "paid after the window", "closed", 0, frozenset({"order_confirmation", "order_closed"}),
        optional=frozenset({"refund_paid", "payment_received"}), reminders=(0, 3), shipped=False,
    )  # fmt: skip


async def _refunded(d: Driver, order_id: str) -> bool:
    payment = await d.payment(order_id)
    return bool(payment["captured"]) and payment["net"] == 0


async def fail_then_retry(d: Driver, o: dict[str, Any]) -> Journey:
    await d.shop.complete_checkout(await d.checkout(o["order_id"]), "fail", "bank_limit")
    await d.until(o["order_id"], lambda x: x["payment"]["status"] == "failed", "payment failed")
    await d.shop.retry_payment(o["order_id"], "wallet")
    await d.until(
        o["order_id"],
        lambda x: x["payment"].get("checkout_url") not in (None, o["payment"].get("checkout_url")),
        "a new checkout",
    )
    await d.pay(o["order_id"])
    await d.deliver(o["order_id"])
    await d.shop.confirm_receipt(o["order_id"])
    await d.status(o["order_id"], "completed")
    return Journey(
        "failed then retried", "completed", None,
        DELIVERED_PATH | {"order_completed", "payment_failed"},
    )  # fmt: skip


async def cancel_unpaid(d: Driver, o: dict[str, Any]) -> Journey:
    await d.checkout(o["order_id"])
    await d.shop.cancel(o["order_id"])
    await d.status(o["order_id"], "cancelled")
    return Journey(
        "cancelled unpaid", "cancelled", 0, frozenset({"order_confirmation", "order_cancelled"}),
        shipped=False,
    )  # fmt: skip


async def cancel_paid(d: Driver, o: dict[str, Any]) -> Journey:
    await d.pay(o["order_id"])
    await d.status(o["order_id"], "paid")
    await d.shop.cancel(o["order_id"])  # the warehouse ships after a few seconds
    await d.status(o["order_id"], "refunded")
    return Journey(
        "refund before shipping", "refunded", 0,
        # the customer asked by cancelling: no separate "refund requested" message
        frozenset({"order_confirmation", "payment_received", "refund_approved", "refund_paid"}),
        shipped=False,
    )  # fmt: skip


async def not_received(d: Driver, o: dict[str, Any]) -> Journey:
    await d.pay(o["order_id"])
    order = await d.status(o["order_id"], "shipped")
    await d.shop.advance_parcel(order["shipment"]["courier"], order["shipment"]["tracking_number"])
    request = await d.shop.request_refund(o["order_id"], "not_received")
    if request["status"] == "requested":  # the promise is still ahead: operations decide
        await d.shop.approve_refund(request.get("refund_request_id") or request["id"])
    await d.status(o["order_id"], "refunded")
    return Journey("refund without return", "refunded", 0, PAID_PATH | REFUND)


async def return_goods(d: Driver, o: dict[str, Any]) -> Journey:
    await d.pay(o["order_id"])
    await d.deliver(o["order_id"])
    request = await d.shop.request_refund(o["order_id"], "changed_mind")
    request_id = request.get("refund_request_id") or request["id"]
    await d.shop.ship_return(request_id, "sf", f"RET{o['order_id'][-10:]}")
    await d.shop.return_received(request_id)
    await d.status(o["order_id"], "refunded")
    return Journey(
        "return then refund", "refunded", 0, DELIVERED_PATH | REFUND | {"return_received"},
        returned=True,
    )  # fmt: skip


async def stock_shortage(d: Driver, o: dict[str, Any]) -> Journey:
    await d.status(o["order_id"], "cancelled")
    return Journey(
        "stock shortage", "cancelled", 0, frozenset({"order_confirmation"}),
        optional=frozenset({"stock_shortage_apology", "order_cancelled"}), shipped=False,
    )  # fmt: skip


SCENARIOS: dict[str, tuple[Scenario, str]] = {
    "pay_and_complete": (pay_and_complete, "card"),
    "pay_for_me": (pay_and_complete, "pay_for_me"),
    "duplicate_callbacks": (duplicate_callbacks, "online_banking"),
    "cash_on_delivery": (cash_on_delivery, "cash_on_delivery"),
    "refused_at_door": (refused_at_door, "cash_on_delivery"),
    "refused_prepaid": (refused_prepaid, "card"),
    "never_pay": (never_pay, "wallet"),
    "late_payment": (late_payment, "card"),
    "fail_then_retry": (fail_then_retry, "card"),
    "cancel_unpaid": (cancel_unpaid, "wallet"),
    "cancel_paid": (cancel_paid, "wallet"),
    "not_received": (not_received, "card"),
    "return_goods": (return_goods, "online_banking"),
    "stock_shortage": (stock_shortage, "card"),
}


async def run_one(d: Driver, name: str, rng: random.Random) -> tuple[Journey, dict[str, Any]]:
    scenario, method = SCENARIOS[name]
    catalogue = (SCARCE,) if name == "stock_shortage" else CATALOGUE
    placed = await d.shop.place_order(order_body(rng, method, catalogue))
    journey = await scenario(d, placed)
    journey.order = placed
    return journey, placed


async def test_every_path_ends_right_with_its_messages_money_and_stock(shop: Shop) -> None:
    d = Driver(shop)
    for item in CATALOGUE:
        await shop.put_stock(item["sku"], INITIAL, threshold=10)
    await shop.put_stock(SCARCE["sku"], 0, threshold=0)
    rng = random.Random(20261123)
    names = [list(SCENARIOS)[i % len(SCENARIOS)] for i in range(ORDERS)]
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(name: str) -> tuple[Journey, dict[str, Any]]:
        async with gate:
            return await run_one(d, name, rng)

    results = await asyncio.gather(*(one(n) for n in names))
    assert len(results) == ORDERS

    shipped: Counter[str] = Counter()
    returned: Counter[str] = Counter()
    reminded = 0
    for journey, placed in results:
        reminded += await check_order(d, journey, placed) * (journey.name == "never paid")
        for line in placed["items"]:
            if journey.shipped:
                shipped[line["sku"]] += line["quantity"]
            if journey.returned:
                returned[line["sku"]] += line["quantity"]
    assert reminded > 0, "unpaid orders get payment reminders (within the cap, before closing)"
    for item in CATALOGUE:
        stock = await poll(lambda sku=item["sku"]: _stock(d, sku), f"stock {item['sku']}")
        assert stock["reserved"] == 0, stock
        expected = INITIAL - shipped[item["sku"]] + returned[item["sku"]]
        assert stock["on_hand"] == expected, (item["sku"], stock, expected)


async def _stock(d: Driver, sku: str) -> dict[str, Any] | None:
    response = await d.client.get(
        f"{d.shop.edges.logistics}/v1/stock/{sku}",
        headers={"Authorization": f"Bearer {d.shop.edges.ops_key}"},
    )
    response.raise_for_status()
    stock = dict(response.json())
    return stock if stock["reserved"] == 0 else None


async def check_order(d: Driver, journey: Journey, placed: dict[str, Any]) -> int:
    """Checks one order; returns how many payment reminders it got (per channel)."""
    order_id = placed["order_id"]
    where = f"{journey.name} {order_id}"
    order = await d.order(order_id)
    assert order["status"] == journey.status, where

    times = [entry["at"] for entry in order["timeline"]]
    assert times == sorted(times), f"{where}: timeline out of order"
    kinds = [entry["kind"] for entry in order["timeline"]]
    assert kinds and kinds[0] in ("placed", "order_placed"), (where, kinds)

    total = order["totals"]["total"]["amount"]
    expected_net = total if journey.net is None else journey.net
    payment = await poll(
        lambda: _settled(d, order_id, expected_net), f"{where} ledger settles at {expected_net}"
    )
    entries = payment["ledger"]
    charged = sum(e["amount"] for e in entries if e["kind"] == "charge")
    refunded = sum(e["amount"] for e in entries if e["kind"] == "refund")
    assert charged - refunded == expected_net, (where, entries)
    if journey.net is None:
        assert charged == total, f"{where}: charged once"

    try:
        messages = await poll(
            lambda: _messages_settled(d, order_id, journey), f"{where} messages", timeout=60
        )
    except AssertionError:
        seen = [(m["template"], m["channel"], m["status"]) for m in await d.messages(order_id)]
        raise AssertionError(f"{where}: expected {sorted(journey.messages)}, got {seen}") from None
    failed = [(m["template"], m["channel"]) for m in messages if m["status"] == "failed"]
    assert not failed, (where, "failed", failed)
    sent = Counter((m["template"], m["channel"]) for m in messages if m["status"] == "sent")
    channels = {channel for (_t, channel) in sent}
    assert channels == {"email", "sms"}, (where, channels)
    for (template, channel), count in sent.items():
        if template == "payment_reminder":
            low, high = journey.reminders
            assert low <= count <= high, (where, template, count)
        else:
            assert count == 1, f"{where}: {template} by {channel} sent {count} times"
    templates = {t for (t, _c) in sent} - {"payment_reminder"}
    missing = journey.messages - templates
    unexpected = templates - journey.messages - journey.optional
    assert not missing and not unexpected, (where, "missing", missing, "unexpected", unexpected)
    return sent[("payment_reminder", "email")]


async def _settled(d: Driver, order_id: str, net: int) -> dict[str, Any] | None:
    payment = await d.payment(order_id)
    return payment if payment["net"] == net else None


async def _messages_settled(
    d: Driver, order_id: str, journey: Journey
) -> list[dict[str, Any]] | None:
    messages = await d.messages(order_id)
    templates = {m["template"] for m in messages if m["status"] == "sent"}
    done = journey.messages <= templates and journey.reminders[0] <= sum(
        m["template"] == "payment_reminder" for m in messages if m["channel"] == "email"
    )
    pending = any(m["status"] == "pending" for m in messages)
    return messages if done and not pending else None
