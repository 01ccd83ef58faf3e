"""The partition leaders bounced under load, on a three-node KRaft cluster in cluster mode.

The five services run as real processes on a three-node cluster of this test's own, their
topics created by `shared.kafka.admin` (replication 3, min.insync.replicas 2). While
orders are placed, paid, shipped and delivered, the broker leading most partitions of
the per-order topics is stopped and started again, first with a controlled shutdown
(SIGTERM: a rolling restart), then by a crash (SIGKILL), each time the one leading most at
that moment. Every order completes, paid exactly once (cash on delivery included),
and no service sets a message aside as a dead letter.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from deploy.demo.shop import Edges, Shop, order_body
from deploy.local.kafka import KafkaCluster
from deploy.local.stack import SERVICES
from shared.contracts.registry import TOPICS
from shared.kafka.admin import ensure_topics
from tests.fault.test_database_restart import CATALOGUE, ENV, journey
from tests.fault.test_service_database_restart import settled
from tests.support.infra import REPO, Infra
from tests.support.system import place_through_outage, start_system

pytestmark = [pytest.mark.fault, pytest.mark.slow]

# Enough orders in flight across each outage (a third cash on delivery) to show the hops
# survive it; more only lengthen the run.
ORDERS_PER_WAVE = 6
DEADLINE_SECONDS = 180.0
FAST_FAILURE_DETECTION = {  # as tests/fault/test_broker_failover.py, for the same reason
    "broker.heartbeat.interval.ms": "500",
    "broker.session.timeout.ms": "3000",
}
HOT = [t.name for t in TOPICS if t.per_order]


@pytest.fixture(scope="module")
def cluster() -> Iterator[KafkaCluster]:
    local = REPO / ".local"
    local.mkdir(exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="test-fault-leaders-", dir=local))
    kafka = KafkaCluster(base, nodes=3, overrides=FAST_FAILURE_DETECTION)
    try:
        kafka.start(timeout=180)
        yield kafka
    finally:
        kafka.stop(timeout=5)  # its files go next: no need to wait for a controlled shutdown
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
async def system(infra: Infra, cluster: KafkaCluster) -> AsyncIterator[dict[str, Any]]:
    await ensure_topics(cluster.bootstrap, replication=3)
    on_cluster = Infra(cluster.bootstrap, infra.admin_dsn, infra.kind)
    stack, state = await start_system(on_cluster, ENV)
    state["stack"] = stack
    try:
        yield state
    finally:
        stack.stop_processes()


async def leaders(bootstrap: str) -> tuple[Counter[int], dict[str, list[Any]]]:
    """How many partitions of the per-order topics each node leads, and their metadata."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(HOT)
    finally:
        await admin.close()
    led: Counter[int] = Counter()
    parts = {}
    for topic in described:
        parts[topic["topic"]] = topic["partitions"]
        led.update(p["leader"] for p in topic["partitions"] if p["leader"] >= 0)
    return led, parts


async def test_bouncing_the_partition_leaders_loses_and_doubles_nothing(
    system: dict[str, Any], cluster: KafkaCluster
) -> None:
    rng = random.Random(3)
    deadline = time.monotonic() + DEADLINE_SECONDS
    async with httpx.AsyncClient(timeout=10) as client:
        shop = Shop(Edges.from_stack(system), client)
        await shop.put_stock(str(CATALOGUE[0]["sku"]), 100_000)
        placed: list[tuple[str, str]] = []
        journeys: list[asyncio.Future[dict[str, Any]]] = []

        async def place_for(seconds: float) -> None:
            for _ in range(ORDERS_PER_WAVE):
                method = "cash_on_delivery" if len(placed) % 3 == 0 else "card"
                body = order_body(rng, method, CATALOGUE, lines=1, quantity=1)
                placed.append((await place_through_outage(shop, body, deadline=deadline), method))
                journeys.append(asyncio.ensure_future(journey(shop, *placed[-1], deadline)))
                await asyncio.sleep(seconds / ORDERS_PER_WAVE)

        bounced = []
        for crash in (False, True):
            await place_for(4.0)
            led, _ = await leaders(cluster.bootstrap)
            victim, count = led.most_common(1)[0]
            if crash:
                await asyncio.to_thread(cluster.kill_node, victim)
            else:
                await asyncio.to_thread(cluster.stop_node, victim)
            bounced.append((victim, count, "killed" if crash else "stopped"))
            await place_for(4.0)  # orders keep coming on two brokers
            await asyncio.to_thread(cluster.start_node, victim, 90.0)
        await place_for(2.0)
        finals = await asyncio.gather(*journeys)

        stuck = {
            order_id: (method, final.get("status"))
            for (order_id, method), final in zip(placed, finals, strict=True)
            if final.get("status") != "completed"
        }
        assert not stuck, f"{len(stuck)} of {len(placed)} orders stopped moving: {stuck}"
        unpaid = await settled(shop, [order_id for order_id, _ in placed], deadline + 30)
        assert not unpaid, f"orders not paid exactly their total: {unpaid}"

        ops = {"Authorization": f"Bearer {shop.edges.ops_key}"}
        for name in SERVICES:
            url = system["services"][name]["url"]
            letters = await client.get(f"{url}/ops/dead-letters", headers=ops)
            assert letters.status_code == 200, (name, letters.text)
            assert letters.json()["dead_letters"] == [], (name, letters.json())
        while True:  # every replica back in sync
            _, parts = await leaders(cluster.bootstrap)
            behind = {t: [p for p in ps if len(p["isr"]) < 3] for t, ps in parts.items()}
            if not any(behind.values()):
                break
            assert time.monotonic() < deadline + 30, f"replicas not back in sync: {behind}"
            await asyncio.sleep(0.5)
    print(f"bounced (node, partitions led, how): {bounced}; {len(placed)} orders")
