"""The shop driver: customers, the payment provider, the carrier and operations.

Each order gets a scenario when it is placed; the driver then reacts to what
the system publishes about it (PaymentRequested, PaymentFailed, OrderPaid,
ShippingPromiseSet, ShipmentShipped, ShipmentDelivered, ...) the way the outside
world would, through the real HTTP edges only; the warehouse picks, packs and hands
over each shipment whose promise is set (through logistics' ops API), and puts back on
the shelf the goods of a shipment stopped after they were picked. Once a run, after some
parcels have waited in the warehouse, operations announce a sales peak for one region;
and now and then they receive goods for the orders waiting on the scarce item (backorders).
Some customers give a coupon code at checkout (deploy/demo/coupons.py), and some exchange a
delivered T-shirt for another size (deploy/demo/exchanges.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from deploy.demo import backorders, coupons, exchanges
from deploy.demo.shop import DEFAULT_CATALOGUE, Shop, ShopError, order_body
from deploy.demo.topics import Record

SCARCE: dict[str, Any] = {
    "sku": "DEMO-LAST-PIECES",
    "name": "Limited-edition scarf",
    "variant": "Red",
    "price": 19900,
}
SCARCE_STOCK = 6
# Stocked only in a second warehouse: an order with it and anything else ships as two
# parcels (the `two_parcels` scenario), each picked, tracked and delivered on its own.
NORTH: dict[str, Any] = {
    "sku": "DEMO-NORTH-BOARD",
    "name": "Bamboo cutting board",
    "variant": "40 cm",
    "price": 8900,
}
NORTH_WAREHOUSE = "north"

# Once a run, when this many parcels have waited in the warehouse, operations announce a
# sales peak in one region the customers live in (order_body's Hangzhou): each parcel
# there still to leave or on its way within the week, and each opened or shipped while it
# is in force, moves two working days later and its customer is told once. The id is the
# shop's date, so a second run that day repeats the same announcement and tells no one again.
DELAY_AFTER_WAITING = 10
PEAK = {"cause": "peak", "days": 2, "region": "Zhejiang", "parcels": "all"}
PEAK_WEEK = 7  # days the announcement's range covers, from today
SHOP_TIME_ZONE = ZoneInfo("Asia/Shanghai")  # logistics' shop_time_zone default
PUT_BACK_EVERY = 10.0  # seconds between the warehouse's looks at its put-back list

# Scenario -> weight. Names say what the outside world does with the order.
DEFAULT_MIX = {
    "pay_now": 34,  # pays at once, receives, confirms (or auto-confirms)
    "pay_late": 8,  # pays some seconds later (the provider's callback arrives late)
    "fail_then_retry": 8,  # the card fails (bank limit), the customer retries and pays
    "never_pay": 7,  # forgets: reminders, then the payment window closes the order
    "cash_on_delivery": 10,  # ships unpaid, pays the courier
    "refuse_at_door": 3,  # cash on delivery, refuses the parcel when the courier brings it
    "pay_for_me": 5,  # a friend pays through the shared link
    "cancel_unpaid": 3,  # cancels before paying
    "refund_before_shipping": 6,  # pays, then cancels before the parcel leaves (flow 1)
    "cancel_after_picking": 3,  # pays, cancels once the goods are picked: they go back
    "refund_not_received": 6,  # shipped, says it never arrived (flow 2, approved by ops)
    "return_after_delivery": 8,  # receives, sends it back, refunded on arrival (flow 3)
    "stock_shortage": 5,  # orders the last pieces of a scarce item: ships what is there,
    # waits for the restock, or leaves it to the default (cash on delivery: cancelled)
    "two_parcels": 5,  # goods from two warehouses: two parcels, delivered when both are
    "exchange_after_delivery": 4,  # receives a T-shirt, exchanges it for another variant
}


def parse_mix(text: str | None) -> dict[str, int]:
    if not text:
        return dict(DEFAULT_MIX)
    mix = {}
    for part in text.split(","):
        name, _, weight = part.partition("=")
        if name.strip() not in DEFAULT_MIX:
            raise ValueError(f"unknown scenario {name!r}; known: {', '.join(DEFAULT_MIX)}")
        mix[name.strip()] = int(weight or 1)
    return mix


METHODS = {
    "cash_on_delivery": "cash_on_delivery",
    "refuse_at_door": "cash_on_delivery",
    "pay_for_me": "pay_for_me",
}


@dataclass
class Customer:
    order_id: str
    scenario: str
    body: dict[str, Any]
    attempts: int = 0
    done: set[str] = field(default_factory=set)
    parcels: int = 1  # as ShippingPromiseSet tells them
    delivered: set[str] = field(default_factory=set)  # the parcels delivered so far


class Driver:
    def __init__(
        self, shop: Shop, rate: float, mix: dict[str, int], seed: int | None = None
    ) -> None:
        self.shop = shop
        self.rate = rate
        self.mix = mix
        self.rng = random.Random(seed)
        self.customers: dict[str, Customer] = {}
        self.early: dict[str, list[Record]] = {}
        self.actions: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.last_error = ""
        self.tasks: set[asyncio.Task[Any]] = set()
        self.started = time.monotonic()
        self.page_url: str | None = None  # the order pages (python -m web), when they run
        self.last_page: str | None = None
        self.warehouse_pace = (0.5, 1.5)  # seconds between two steps on one shipment
        self.answer_pace = (1.0, 5.0)  # seconds a customer takes to answer a backorder
        self.waiting = 0  # parcels seen waiting in the warehouse
        self.peak_announced = False
        self.put_back_ids: set[str] = set()  # shipments whose goods were put back (or are)
        self.exchanger = exchanges.Exchanger(shop, self.rng, self._act)

    # status for the live view

    def lines(self) -> list[str]:
        elapsed = time.monotonic() - self.started
        placed = self.actions["place"]
        acts = ", ".join(f"{k} {v}" for k, v in sorted(self.actions.items()) if k != "place")
        out = [
            f"placing {self.rate:g} orders/s · placed {placed} in {elapsed:,.0f}s",
            f"actions: {acts or '-'}",
        ]
        if self.errors:
            out.append(f"errors: {dict(self.errors)} · last: {self.last_error[:150]}")
        if self.last_page:
            out.append(f"follow an order: {self.last_page}")
        return out

    # setup

    async def prepare(self) -> None:
        """Stock for the catalogue (plenty) and for the scarce item (a few pieces)."""
        for item in DEFAULT_CATALOGUE:
            await self.shop.put_stock(item["sku"], on_hand=100_000, threshold=50,
                                      name=item["name"], variant=item["variant"])  # fmt: skip
        await self.shop.put_stock(SCARCE["sku"], on_hand=SCARCE_STOCK, threshold=2,
                                  name=SCARCE["name"], variant=SCARCE["variant"])  # fmt: skip
        await self.shop.put_stock(NORTH["sku"], on_hand=100_000, threshold=50,
                                  name=NORTH["name"], variant=NORTH["variant"],
                                  warehouse=NORTH_WAREHOUSE)  # fmt: skip
        await backorders.expect_restock(self.shop, SCARCE["sku"], SHOP_TIME_ZONE)
        await exchanges.prepare(self.shop)
        await coupons.prepare(self.shop)

    # placing

    async def place_forever(self, stop: asyncio.Event, duration: float | None) -> None:
        names, weights = zip(*self.mix.items(), strict=True)
        deadline = time.monotonic() + duration if duration else None
        i = 0
        started = time.monotonic()
        while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
            scenario = self.rng.choices(names, weights)[0]
            self._spawn(self._place(scenario))
            i += 1
            delay = started + i / self.rate - time.monotonic()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=delay)

    async def _place(self, scenario: str) -> None:
        method = METHODS.get(scenario, self.rng.choice(("card", "wallet", "online_banking")))
        if scenario == "stock_shortage":  # two of the scarce item with something in stock
            body = order_body(self.rng, method, catalogue=(SCARCE,), lines=1, quantity=2)
            body["items"] += order_body(self.rng, method, lines=1)["items"]
        elif scenario == "exchange_after_delivery":  # the shirt is line l1
            body = order_body(self.rng, method, catalogue=(exchanges.SHIRT,), lines=1)
        elif scenario == "two_parcels":  # one item from the main warehouse, one from north
            body = order_body(self.rng, method, lines=1)
            body["items"] += order_body(self.rng, method, catalogue=(NORTH,), lines=1)["items"]
        else:
            body = order_body(self.rng, method)
            if self.rng.random() < 0.15:  # insists on SF Express, and pays its surcharge
                body["courier"] = "sf"
        answer = await self._act("place", coupons.place(self.shop, body, self.rng))
        if answer is None:
            return
        order_id = str(answer.get("order_id") or answer.get("id"))
        if self.page_url and answer.get("access_token"):
            token = answer["access_token"]
            self.last_page = f"{self.page_url}/orders/{order_id}?token={token}"
        customer = Customer(order_id, scenario, body)
        self.customers[order_id] = customer
        for record in self.early.pop(order_id, []):
            self._react(customer, record)
        if scenario == "cancel_unpaid":
            await self._later(self.rng.uniform(2, 6), "cancel", partial(self.shop.cancel, order_id))

    # reacting to what the system publishes

    def on_records(self, batch: list[Record]) -> None:
        for record in batch:
            if record.order_id is None:
                continue
            customer = self.customers.get(record.order_id)
            if customer is None:
                if record.type in ("PaymentRequested",):  # may beat the HTTP answer
                    self.early.setdefault(record.order_id, []).append(record)
                continue
            self._react(customer, record)

    def _react(self, c: Customer, r: Record) -> None:
        kind, s = r.type, c.scenario
        if kind == "PaymentRequested":
            self._on_payment_requested(c, r)
        elif kind == "PaymentFailed" and s == "fail_then_retry" and "retry" not in c.done:
            c.done.add("retry")
            method = self.rng.choice(("card", "wallet"))
            retry = partial(self.shop.retry_payment, c.order_id, method)
            self._spawn(self._later(self.rng.uniform(2, 5), "retry payment", retry))
        elif kind == "OrderPaid" and s == "refund_before_shipping" and "cancel" not in c.done:
            c.done.add("cancel")
            self._spawn(self._later(0.3, "cancel paid", partial(self.shop.cancel, c.order_id)))
        elif kind == "ShipmentPicked" and s == "cancel_after_picking" and "cancel" not in c.done:
            c.done.add("cancel")  # while the warehouse packs: it finds the shipment stopped
            cancel = partial(self.shop.cancel, c.order_id)
            self._spawn(self._later(0.1, "cancel picked", cancel))
        elif kind == "ShippingPromiseSet" and r.payload.get("shipment_id") and "pick" not in c.done:
            c.done.add("pick")  # the warehouse (LOGISTICS_WAREHOUSE_STEPS) takes each parcel
            parcels = [p["shipment_id"] for p in r.payload.get("parcels") or []]
            c.parcels = len(parcels) or 1
            for shipment_id in parcels or [r.payload["shipment_id"]]:
                self._spawn(self._warehouse(c, str(shipment_id)))
            self.waiting += 1
            if self.waiting >= DELAY_AFTER_WAITING and not self.peak_announced:
                self.peak_announced = True
                self._spawn(self._announce_peak())
        elif kind == "StockBackordered" and "choose" not in c.done:
            c.done.add("choose")
            choice = backorders.pick_choice(self.rng)
            if choice is not None:  # the others leave it to the deadline's default
                answer = partial(self.shop.backorder_choice, c.order_id, choice)
                self._spawn(
                    self._later(self.rng.uniform(*self.answer_pace), "backorder choice", answer)
                )
        elif kind == "ExchangeAccepted" and "exchange" not in c.done:
            c.done.add("exchange")
            self._spawn(self.exchanger.on_accepted(r.payload))
        elif kind == "ExchangePaymentRequested" and "exchange paid" not in c.done:
            c.done.add("exchange paid")
            self._spawn(self.exchanger.on_payment_requested(r.payload))
        elif kind == "ShipmentShipped" and s == "refund_not_received" and "refund" not in c.done:
            c.done.add("refund")
            self._spawn(self._flow_two(c))
        elif kind == "ShipmentWentOutForDelivery" and s == "refuse_at_door":
            if "refuse" not in c.done:
                c.done.add("refuse")
                courier, tracking = r.payload["courier"], r.payload["tracking_number"]
                refuse = partial(self.shop.refuse_parcel, courier, tracking)
                self._spawn(self._later(0.2, "refuse parcel", refuse))
        elif kind == "ShipmentDelivered" and "delivered" not in c.done:
            c.delivered.add(str(r.payload.get("shipment_id")))
            if len(c.delivered) < c.parcels:
                return  # the customer waits for the other parcels before doing anything
            c.done.add("delivered")
            if s == "return_after_delivery":
                self._spawn(self._flow_three(c))
            elif s == "exchange_after_delivery":
                self._spawn(self.exchanger.ask(c.order_id, "l1"))
            elif self.rng.random() < 0.6:  # the rest are confirmed automatically
                confirm = partial(self.shop.confirm_receipt, c.order_id)
                self._spawn(self._later(self.rng.uniform(1, 8), "confirm receipt", confirm))

    def _on_payment_requested(self, c: Customer, r: Record) -> None:
        url = r.payload.get("checkout_url") or r.payload.get("pay_link")
        if not url or c.scenario in ("never_pay", "cancel_unpaid"):
            return
        c.attempts += 1
        if c.scenario == "fail_then_retry" and c.attempts == 1:
            reason = self.rng.choice(("bank_limit", "wrong_password"))
            call = partial(self.shop.complete_checkout, url, "fail", reason=reason)
            self._spawn(self._later(self.rng.uniform(1, 3), "fail payment", call))
            return
        delay = self.rng.uniform(8, 20) if c.scenario == "pay_late" else 0.0
        repeat = 2 if self.rng.random() < 0.1 else 1  # the provider sometimes calls twice
        call = partial(
            self.shop.complete_checkout, url, "succeed", delay_seconds=delay, repeat=repeat
        )
        self._spawn(self._later(self.rng.uniform(0.5, 3), "pay", call))

    async def _flow_two(self, c: Customer) -> None:
        await asyncio.sleep(self.rng.uniform(2, 5))
        answer = await self._act(
            "refund not received", self.shop.request_refund(c.order_id, "not_received")
        )
        request_id = _request_id(answer)
        if request_id and str(answer.get("status")) == "requested":
            await asyncio.sleep(self.rng.uniform(2, 4))  # operations looks into it
            await self._act("ops approve", self.shop.approve_refund(request_id))

    async def _flow_three(self, c: Customer) -> None:
        await asyncio.sleep(self.rng.uniform(1, 4))
        reason = self.rng.choice(("changed_mind", "damaged", "wrong_item"))
        answer = await self._act("return request", self.shop.request_refund(c.order_id, reason))
        request_id = _request_id(answer)
        if not request_id:
            return
        await asyncio.sleep(self.rng.uniform(2, 5))
        tracking = f"RT{self.rng.randrange(10**9, 10**10)}"
        if (
            await self._act("ship return", self.shop.ship_return(request_id, "sf", tracking))
            is None
        ):
            return
        await asyncio.sleep(self.rng.uniform(3, 6))
        await self._act("return received", self.shop.return_received(request_id))

    async def _announce_peak(self) -> None:
        """Operations announce a sales peak in one region, from today for a week."""
        today = datetime.now(SHOP_TIME_ZONE).date()
        body = PEAK | {
            "expected_from": today.isoformat(),
            "expected_to": (today + timedelta(days=PEAK_WEEK)).isoformat(),
        }
        delay_id = f"demo-peak-{today:%Y%m%d}"
        await self._act("announce delay", self.shop.announce_delay(delay_id, body))

    async def _warehouse(self, c: Customer, shipment_id: str) -> None:
        """Picks, packs and hands the parcel over, a second or so apart. A stopped shipment
        (cancelled meanwhile) or warehouse steps switched off is a 409: nothing to do, but
        to put back the goods of one stopped after they were picked."""
        grams = sum(int(x.get("quantity", 1)) for x in c.body.get("items", [])) * 350
        steps = (("picked", None), ("packed", {"weight_grams": grams or 350, "parcels": 1}))
        for step, body in (*steps, ("handed-over", None)):
            await asyncio.sleep(self.rng.uniform(*self.warehouse_pace))
            try:
                await self.shop.warehouse_step(shipment_id, step, body)
            except ShopError as exc:
                if exc.status != 409:
                    self.errors[f"warehouse {step} {exc.status}"] += 1
                    self.last_error = str(exc)
                elif step != "picked" and exc.code == "not_in_warehouse":
                    await self._put_back(shipment_id)  # stopped after picking
                return
            except (httpx.HTTPError, OSError) as exc:
                self.errors[f"warehouse {step} unreachable"] += 1
                self.last_error = f"warehouse {step}: {exc!r}"
                return
            self.actions[f"warehouse {step}"] += 1

    async def restock_forever(
        self, stop: asyncio.Event, every: float = backorders.RESTOCK_EVERY
    ) -> None:
        """Now and then operations receive goods for the orders waiting on the scarce item."""
        await backorders.restock_forever(self.shop, SCARCE["sku"], self._act, stop, every)

    async def put_back_forever(self, stop: asyncio.Event, every: float = PUT_BACK_EVERY) -> None:
        """Every `every` seconds the warehouse puts back what its put-back list still shows:
        goods of shipments stopped after picking that no warehouse step found stopped (a
        step that failed to reach logistics, a run stopped halfway, a stack reused)."""
        while not stop.is_set():
            found = await self._act("put-back list", self.shop.put_back_list(), count=False)
            for entry in found or []:
                await self._put_back(str(entry["shipment_id"]))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=every)

    async def _put_back(self, shipment_id: str) -> None:
        """Puts the shipment's picked goods back on the shelf, once. A 409 is no error: the
        shipment had nothing picked, or it was not stopped after all."""
        if shipment_id in self.put_back_ids:
            return
        self.put_back_ids.add(shipment_id)
        try:
            await self.shop.put_back(shipment_id)
        except ShopError as exc:
            if exc.status != 409:
                self.put_back_ids.discard(shipment_id)  # the list shows it again: retried
                self.errors[f"warehouse put-back {exc.status}"] += 1
                self.last_error = str(exc)
            return
        except (httpx.HTTPError, OSError) as exc:
            self.put_back_ids.discard(shipment_id)
            self.errors["warehouse put-back unreachable"] += 1
            self.last_error = f"warehouse put-back: {exc!r}"
            return
        self.actions["warehouse put-back"] += 1

    # plumbing

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _later(self, seconds: float, what: str, call: Callable[[], Awaitable[Any]]) -> None:
        await asyncio.sleep(seconds)
        await self._act(what, call())

    async def _act(self, what: str, call: Awaitable[Any], *, count: bool = True) -> Any:
        """The call's answer, counted among the actions (unless `count` is false); None
        when it failed, counted among the errors."""
        try:
            result = await call
        except ShopError as exc:
            self.errors[f"{what} {exc.status}"] += 1
            self.last_error = str(exc)
            return None
        except (httpx.HTTPError, OSError) as exc:
            self.errors[f"{what} unreachable"] += 1
            self.last_error = f"{what}: {exc!r}"
            return None
        if count:
            self.actions[what] += 1
        return result

    async def stop(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    def summary(self) -> dict[str, Any]:
        return {
            "scenarios": dict(Counter(c.scenario for c in self.customers.values())),
            "actions": dict(self.actions),
            "errors": dict(self.errors),
        }


def _request_id(answer: dict[str, Any] | None) -> str | None:
    if not answer:
        return None
    value = answer.get("refund_request_id") or answer.get("id")
    return str(value) if value else None
