"""Consumer lag comes from the broker (end offset minus the group's commit), on a timer:
a service with nothing to consume reports 0 for each of its partitions, and the lag of a
consumer that is not running grows with every record published."""

from __future__ import annotations

import re
import uuid

from services.returns.app import build
from services.returns.settings import ReturnsSettings
from shared.contracts.events.order import OrderClosed
from shared.contracts.registry import consumed_by
from shared.kafka.lag import LagMonitor
from tests.support.events import new_order_id, wrap
from tests.support.http import client as client_of
from tests.support.infra import Infra
from tests.support.kafka import publish, start_group_at_end
from tests.support.polling import eventually
from tests.support.services import new_group, service

LAG_LINE = re.compile(r'^fulfil_consumer_lag\{partition="(\d+)",topic="([^"]+)"\} (\S+)$', re.M)


async def test_a_service_that_consumed_nothing_reports_zero_lag_per_partition(
    infra: Infra, database: str
) -> None:
    topics = [t.name for t in consumed_by("returns")]
    group = await new_group(infra.bootstrap, "returns")  # a new deployment: nothing to read
    async with (
        service(build, ReturnsSettings, infra, database, group=group) as runtime,
        client_of(runtime) as client,
    ):

        async def reported() -> dict[str, list[float]] | None:
            text = (await client.get("/metrics")).text
            found: dict[str, list[float]] = {}
            for _, topic, value in LAG_LINE.findall(text):
                found.setdefault(topic, []).append(float(value))
            return found if set(topics) <= set(found) else None

        async def settled() -> dict[str, list[float]] | None:
            # a record another test published just before the group was positioned is
            # consumed, and counts as lag until the consumer's next commit (within a second)
            found = await reported()
            if found and all(value == 0 for topic in topics for value in found[topic]):
                return found
            return None

        await eventually(reported, timeout=20, what="a lag series per topic")
        lags = await eventually(settled, timeout=20, what="zero lag on every partition")
    partitions = {t.name: t.partitions for t in consumed_by("returns")}
    assert {topic: len(lags[topic]) for topic in topics} == partitions, lags


async def test_the_lag_of_a_stopped_consumer_grows_as_events_are_published(
    infra: Infra,
) -> None:
    group = f"fulfil-lag-probe-{uuid.uuid4().hex[:8]}"
    topic = "orders.v1"
    await start_group_at_end(infra.bootstrap, group, [topic])
    monitor = LagMonitor(infra.bootstrap, {group: [topic]}, client_id="fulfil-lag-test")
    await monitor.start()
    try:
        assert sum((await monitor.measure()).values()) == 0
        for _ in range(3):
            event = wrap(OrderClosed(), new_order_id())
            await publish(infra.bootstrap, event, topic=topic)
        assert sum((await monitor.measure()).values()) == 3
    finally:
        await monitor.stop()
