"""Three instances of every service under load, scaled 3 -> 1 -> 3 -> 1 by SIGKILL and
start: every order is done once.

Each service runs three processes in its consumer groups, each under its own static member
name. Orders are placed and paid all along. Instances 2 and 3 of every service are killed
(-9) mid-load, so their partitions (and what they had in hand) go to instance 1 once their
sessions time out; they are started again under the same names and take partitions back;
then they are killed once more. Every order ends shipped (its ship-delay timer fired), with
one charge, one shipment, no refund, each message once and its timeline in order.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from deploy.demo.shop import Edges, Shop
from shared.kafka.agents import SESSION_TIMEOUT_SECONDS
from tests.support.churn import (
    ENV,
    Instances,
    Load,
    check_done_once,
    gone,
    settled,
    stocked_everywhere,
)
from tests.support.infra import Infra
from tests.support.system import start_system

pytestmark = [pytest.mark.fault, pytest.mark.slow]

REPLICAS = 3
SKU = "FAULT-REPLICAS-MUG"


@pytest.fixture(scope="module")
async def system(infra: Infra) -> AsyncIterator[dict[str, Any]]:
    stack, state = await start_system(infra, ENV, replicas=REPLICAS)
    state["stack"] = stack
    try:
        yield state
    finally:
        await asyncio.to_thread(stack.stop_processes)


async def test_every_order_is_done_once_while_instances_die_and_come_back(
    system: dict[str, Any],
) -> None:
    instances = Instances(system["stack"], system)
    async with httpx.AsyncClient(timeout=10) as client:
        shop = Shop(Edges.from_stack(system), client)
        logistics = system["services"]["logistics"]["instances"]
        await stocked_everywhere(shop, logistics, SKU, 100_000)
        load = Load(shop, SKU)
        runner = asyncio.ensure_future(load.run())
        started = time.monotonic()

        await asyncio.sleep(5)  # 3 instances
        await gone(instances.kill(2, 3))  # -> 1: their partitions move once sessions end
        await asyncio.sleep(SESSION_TIMEOUT_SECONDS + 5)
        await instances.start(2, 3)  # -> 3, under the same member names
        await asyncio.sleep(8)
        await gone(instances.kill(2, 3))  # -> 1 again
        await asyncio.sleep(SESSION_TIMEOUT_SECONDS + 3)
        await load.finish(runner)
        churn_seconds = time.monotonic() - started

        outcomes = [await settled(shop, order_id) for order_id in load.placed]

    print(f"replicas: {len(load.placed)} orders over {churn_seconds:.0f} s of 3 -> 1 -> 3 -> 1")
    assert len(load.placed) >= 30, "too few orders to say anything"
    assert len(set(load.placed)) == len(load.placed)  # a retried placement is one order
    for outcome in outcomes:
        check_done_once(outcome)
