"""Consumer lag as the broker sees it: per partition, end offset minus the group's commit.

Measured on a timer, apart from consuming, so a consumer that is stalled or stopped shows
its lag growing and a service that has had nothing to consume shows 0 for every
partition of its topics. A partition the group never committed counts from its first
offset (the group starts at the earliest record). One monitor measures all of a service's
groups (shared.kafka.groups), which read disjoint topics, with one pair of clients.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from shared import metrics
from shared.kafka.security import PLAINTEXT, KafkaSecurity, aiokafka_kwargs
from shared.logging import get_logger

log = get_logger(__name__)
LAG_EVERY_SECONDS = 15.0  # as often as Prometheus scrapes it


class LagMonitor:
    def __init__(
        self,
        bootstrap: str,
        groups: Mapping[str, Iterable[str]],
        client_id: str,
        *,
        security: KafkaSecurity = PLAINTEXT,
    ) -> None:
        """`groups`: each group with the topics it reads (no topic in two groups)."""
        self.bootstrap = bootstrap
        self.security = security
        self.groups = {group: list(topics) for group, topics in groups.items()}
        self.client_id = client_id
        self.last: dict[tuple[str, int], int] = {}  # the latest measure, for the ops API
        self.measured_at: datetime | None = None
        self._admin: AIOKafkaAdminClient | None = None
        self._offsets: AIOKafkaConsumer | None = None

    async def start(self) -> None:
        auth = aiokafka_kwargs(self.security)
        self._admin = AIOKafkaAdminClient(
            bootstrap_servers=self.bootstrap, client_id=self.client_id, **auth
        )
        self._offsets = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            client_id=self.client_id,
            enable_auto_commit=False,
            **auth,
        )
        await self._admin.start()
        await self._offsets.start()

    async def stop(self) -> None:
        if self._offsets is not None:
            with contextlib.suppress(Exception):
                await self._offsets.stop()
        if self._admin is not None:
            with contextlib.suppress(Exception):
                await self._admin.close()

    async def measure(self) -> dict[tuple[str, int], int]:
        """The lag of every partition of the groups' topics, and sets the gauge to it."""
        assert self._admin is not None and self._offsets is not None, "not started"
        lags = {}
        for group, topics in self.groups.items():
            partitions = [
                TopicPartition(topic, partition)
                for topic in topics
                for partition in sorted(await self._partitions(topic))
            ]
            committed = await self._admin.list_consumer_group_offsets(group, partitions=partitions)
            ends = await self._offsets.end_offsets(partitions)
            starts = await self._offsets.beginning_offsets(partitions)
            for tp in partitions:
                done = committed.get(tp)
                position = done.offset if done is not None and done.offset >= 0 else starts[tp]
                lag = lags[(tp.topic, tp.partition)] = max(0, ends[tp] - position)
                metrics.CONSUMER_LAG.labels(tp.topic, str(tp.partition)).set(lag)
        self.last, self.measured_at = lags, datetime.now(UTC)
        return lags

    async def run(self) -> None:
        """Measures every LAG_EVERY_SECONDS until cancelled; while the broker does not answer
        the gauge keeps its last values and the monitor tries again next time."""
        started = False
        try:
            while True:
                try:
                    if not started:
                        await self.start()
                        started = True
                    await self.measure()
                except (KafkaError, OSError, TimeoutError) as exc:
                    log.warning("consumer lag not measured", error=repr(exc))
                    if not started:
                        await self.stop()
                await asyncio.sleep(LAG_EVERY_SECONDS)
        finally:
            await self.stop()

    async def _partitions(self, topic: str) -> set[int]:
        assert self._offsets is not None
        found = self._offsets.partitions_for_topic(topic)
        if not found:
            await self._offsets._client.force_metadata_update()
            found = self._offsets.partitions_for_topic(topic)
        return set(found or ())
