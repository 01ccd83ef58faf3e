"""Orders placed, paid and checked while service instances are killed or stopped: the load
and the outcome checks the replica fault tests share (tests/fault/test_replicas.py,
tests/fault/test_graceful_stop.py)."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from deploy.demo.shop import Shop, ShopError, order_body
from deploy.local.stack import SERVICES, Stack
from tests.support.system import place_through_outage

# Payment never expires, the carrier moves only when told, one ship-delay timer per order
# (shipped = that timer fired), reminders off, every hour sends.
ENV = {
    "ORDER_PAYMENT_WINDOW_SECONDS": "600",
    "LOGISTICS_SANDBOX_AUTO_ADVANCE_SECONDS": "0",
    "LOGISTICS_DEMO_CATALOGUE": "false",
    "LOGISTICS_SHIP_DELAY_SECONDS": "2",
    "NOTIFY_REMINDER_OFFSETS_SECONDS": "[]",
    "NOTIFY_QUIET_HOURS_START": "00:00",
    "NOTIFY_QUIET_HOURS_END": "00:00",
    "NOTIFY_SENDER_POLL_SECONDS": "0.5",
}


@dataclass
class Load:
    """An order every `interval` seconds, each paid by card once its checkout exists."""

    shop: Shop
    sku: str
    interval: float = 0.4
    placed: list[str] = field(default_factory=list)
    payers: list[asyncio.Future[None]] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        rng = random.Random(len(self.sku))
        catalogue = ({"sku": self.sku, "name": "Mug", "variant": None, "price": 4500},)
        while not self.stop.is_set():
            body = order_body(rng, "card", catalogue, lines=1, quantity=1)
            order_id = await place_through_outage(self.shop, body, interval=0.3)
            self.placed.append(order_id)
            self.payers.append(asyncio.ensure_future(pay(self.shop, order_id)))
            await asyncio.sleep(self.interval)

    async def finish(self, runner: asyncio.Future[None], timeout: float = 90) -> None:
        self.stop.set()
        await runner
        _, pending = await asyncio.wait(self.payers, timeout=timeout)
        for payer in pending:
            payer.cancel()
        unpaid = [o for o, p in zip(self.placed, self.payers, strict=True) if p in pending]
        assert not unpaid, f"{len(unpaid)} orders never paid: {unpaid[:5]}"


async def order_of(shop: Shop, order_id: str) -> dict[str, Any] | None:
    auth = {"Authorization": f"Bearer {shop.edges.shop_key}"}
    try:
        response = await shop.client.get(f"{shop.edges.order}/v1/orders/{order_id}", headers=auth)
    except httpx.HTTPError:
        return None
    return dict(response.json()) if response.status_code == 200 else None


async def pay(shop: Shop, order_id: str) -> None:
    while True:
        order = await order_of(shop, order_id)
        url = order["payment"].get("checkout_url") if order else None
        if url:
            try:
                await shop.complete_checkout(url)
                return
            except ShopError as refused:
                if refused.status == 409:  # completed by an earlier try whose answer was lost
                    return
            except httpx.HTTPError:
                pass
        await asyncio.sleep(0.3)


async def get_json(shop: Shop, url: str) -> Any:
    auth = {"Authorization": f"Bearer {shop.edges.shop_key}"}
    for _ in range(20):
        try:
            response = await shop.client.get(url, headers=auth)
            if response.status_code in (200, 404):
                return response.json() if response.status_code == 200 else None
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.5)
    raise AssertionError(f"{url}: no answer")


async def settled(shop: Shop, order_id: str, timeout: float = 120) -> dict[str, Any]:
    """The order once shipped, paid in full and its messages sent, or fails."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        order = await order_of(shop, order_id)
        payment = await get_json(shop, f"{shop.edges.payment}/v1/orders/{order_id}/payment")
        messages = await get_json(shop, f"{shop.edges.notify}/v1/orders/{order_id}/messages")
        ended = order["timeline"][-1] if order and order["timeline"] else None
        last = (order and order["status"], payment and payment["net"], ended)
        sent = [m for m in (messages or {}).get("messages", []) if m["status"] == "sent"]
        total = order["totals"]["total"]["amount"] if order else None
        shipped = bool(order and order["status"] == "shipped")
        if shipped and payment and payment["net"] == total and _both_channels(sent):
            return {"order": order, "payment": payment, "messages": messages["messages"]}
        await asyncio.sleep(0.5)
    raise AssertionError(f"{order_id} did not settle within {timeout}s (last: {last!r})")


def _both_channels(sent: list[dict[str, Any]]) -> bool:
    return {m["channel"] for m in sent} == {"email", "sms"}


def check_done_once(outcome: dict[str, Any]) -> None:
    """One charge, one shipment (the timer fired once), each message once, in order."""
    order, payment = outcome["order"], outcome["payment"]
    where = order["order_id"]
    times = [entry["at"] for entry in order["timeline"]]
    assert times == sorted(times), f"{where}: timeline out of order"
    kinds = Counter(entry["kind"] for entry in order["timeline"])
    assert kinds["paid"] == 1, (where, order["timeline"])
    assert kinds["shipped"] == 1, (where, order["timeline"])
    listed = [entry["kind"] for entry in order["timeline"]]
    assert listed.index("paid") < listed.index("shipped"), (where, listed)
    charges = [e for e in payment["ledger"] if e["kind"] == "charge"]
    assert len(charges) == 1, (where, payment["ledger"])
    assert not [e for e in payment["ledger"] if e["kind"] == "refund"], (where, payment)
    sent = Counter(
        (m["template"], m["channel"]) for m in outcome["messages"] if m["status"] != "failed"
    )
    twice = {key: n for key, n in sent.items() if n > 1}
    assert not twice, (where, "sent twice", twice)


def environ_of(pid: int) -> dict[str, str]:
    environ = Path(f"/proc/{pid}/environ").read_text()
    return dict(line.split("=", 1) for line in environ.split("\0") if "=" in line)


@dataclass
class Instances:
    """The running instances of every service, to kill, stop and start again as they were."""

    stack: Stack
    state: dict[str, Any]
    envs: dict[str, dict[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for service in SERVICES:
            for instance in self.state["services"][service]["instances"]:
                pid = self.stack.running_pid(instance["name"])
                assert pid is not None, instance
                self.envs[instance["name"]] = environ_of(pid)

    def named(self, *indexes: int) -> list[dict[str, Any]]:
        return [
            i
            for s in SERVICES
            for n, i in enumerate(self.state["services"][s]["instances"], 1)
            if n in indexes
        ]

    def kill(self, *indexes: int, sig: signal.Signals = signal.SIGKILL) -> list[int]:
        pids = []
        for instance in self.named(*indexes):
            pid = self.stack.running_pid(instance["name"])
            if pid is not None:
                os.kill(pid, sig)
                pids.append(pid)
        return pids

    async def start(self, *indexes: int) -> None:
        for instance in self.named(*indexes):
            env = self.envs[instance["name"]]
            await asyncio.to_thread(
                self.stack.start_service, instance["name"], env, instance["port"]
            )
        for instance in self.named(*indexes):
            await until_ready(instance["url"])


async def until_ready(url: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get(f"{url}/readyz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.3)
    raise AssertionError(f"{url} not ready within {timeout}s")


async def gone(pids: list[int], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not [p for p in pids if _alive(p)]:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{pids} still running after {timeout}s")


def _alive(pid: int) -> bool:
    """Running: not ended, nor ended and not reaped yet (the stack's processes are ours)."""
    try:
        return not Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    except (OSError, IndexError):
        return False


async def stocked_everywhere(
    shop: Shop, instances: list[dict[str, Any]], sku: str, units: int
) -> None:
    """Stocks `sku` and checks that every logistics instance sees the count before any
    order is placed (each reserves from what it reads, so each must read the same)."""
    await shop.put_stock(sku, units)
    auth = {"Authorization": f"Bearer {shop.edges.ops_key}"}
    for instance in instances:
        seen = await shop.client.get(f"{instance['url']}/v1/stock/{sku}", headers=auth)
        assert seen.status_code == 200, (instance["name"], seen.text)
        assert seen.json()["available"] == units, (instance["name"], seen.json())
