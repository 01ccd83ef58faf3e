"""Backorders in the demo: the customers of the scarce item answer the StockBackordered
message (ship what is there, wait for the restock, or leave it to the deadline's
default), and operations receive goods for the waiting orders now and then."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from deploy.demo.shop import Shop

RESTOCK_EVERY = 30.0  # seconds between two looks at the scarce item's backorders
RESTOCK_AT_MOST = 8  # units received at once: a small delivery, so some still wait
RESTOCK_IN_DAYS = 3  # the date operations give the supplier's next delivery
CHOICES = (("ship_available", 0.4), ("wait", 0.4))  # the rest leave it to the default

Act = Callable[[str, Awaitable[Any]], Awaitable[Any]]


def pick_choice(rng: random.Random) -> str | None:
    """What a customer answers: None leaves it to the deadline's default."""
    draw = rng.random()
    for choice, share in CHOICES:
        if draw < share:
            return choice
        draw -= share
    return None


async def expect_restock(shop: Shop, sku: str, time_zone: ZoneInfo) -> None:
    """Operations tell when the supplier's next delivery comes: the backorder messages
    give the customers that date."""
    expected = datetime.now(time_zone).date() + timedelta(days=RESTOCK_IN_DAYS)
    await shop.expect_restock(sku, expected.isoformat())


async def restock_forever(
    shop: Shop, sku: str, act: Act, stop: asyncio.Event, every: float = RESTOCK_EVERY
) -> None:
    """Every `every` seconds, when orders wait for the SKU, operations receive a
    small delivery of it: the oldest waiting orders are served first."""
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)
        if stop.is_set():
            return
        queue = await act("backorders", shop.backorders(sku))
        short = sum(int(b.get("quantity", 0)) for b in (queue or {}).get("backorders", []))
        if short:
            await act("receive stock", shop.receive_stock(sku, min(short, RESTOCK_AT_MOST)))
