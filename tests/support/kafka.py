"""Observing and feeding topics in tests, through a real consumer and producer."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from shared.contracts.envelope import Envelope
from shared.contracts.registry import topic_for_event
from tests.support.polling import eventually


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: dict[str, bytes]

    def json(self) -> dict[str, Any]:
        assert self.value is not None
        return dict(json.loads(self.value))

    @property
    def type(self) -> str | None:
        raw = self.headers.get("type")
        return raw.decode() if raw else None


class TopicTail:
    """Reads the given topics from their current end: it sees what is published after it starts."""

    def __init__(self, bootstrap: str, topics: Iterable[str]) -> None:
        self.bootstrap = bootstrap
        self.topics = list(topics)
        self.records: list[Record] = []
        self._consumer: AIOKafkaConsumer | None = None

    async def start(self) -> TopicTail:
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
        await consumer.start()
        partitions = await _partitions(consumer, self.topics)
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        for tp, end in ends.items():
            consumer.seek(tp, end)
        self._consumer = consumer
        return self

    async def poll(self) -> list[Record]:
        assert self._consumer is not None
        batches = await self._consumer.getmany(timeout_ms=100)
        for tp, messages in batches.items():
            for m in messages:
                self.records.append(
                    Record(tp.topic, tp.partition, m.offset, m.key, m.value, dict(m.headers or ()))
                )
        return self.records

    async def wait_for(
        self, predicate: Callable[[Record], bool], *, count: int = 1, timeout: float = 20.0
    ) -> list[Record]:
        async def probe() -> list[Record]:
            await self.poll()
            found = [r for r in self.records if predicate(r)]
            return found if len(found) >= count else []

        return await eventually(probe, timeout=timeout, what=f"{count} matching record(s)")

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()


async def publish(bootstrap: str, envelope: Envelope, *, topic: str | None = None) -> None:
    """Publishes an envelope as its producing service would (for driving a consumer)."""
    declared = topic_for_event(envelope.type)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(
            topic or declared.name,
            envelope.to_bytes(),
            key=declared.key_of(envelope).encode(),
            headers=envelope.headers(),
        )
    finally:
        await producer.stop()


async def publish_raw(bootstrap: str, topic: str, value: bytes, key: bytes | None = None) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


async def _partitions(consumer: AIOKafkaConsumer, topics: Iterable[str]) -> list[TopicPartition]:
    found = []
    for topic in topics:
        numbers = consumer.partitions_for_topic(topic)
        if not numbers:
            await consumer._client.force_metadata_update()
            numbers = consumer.partitions_for_topic(topic) or set()
        found += [TopicPartition(topic, p) for p in sorted(numbers)]
    return found


async def end_offsets(bootstrap: str, topics: Iterable[str]) -> dict[TopicPartition, int]:
    """Where each partition of the topics ends now."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        return dict(await consumer.end_offsets(await _partitions(consumer, topics)))
    finally:
        await consumer.stop()


async def group_at(bootstrap: str, group: str, offsets: dict[TopicPartition, int]) -> None:
    """Commits `group`'s offsets at `offsets`: a service joining it starts there."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        consumer.assign(list(offsets))
        await consumer.commit(dict(offsets))
    finally:
        await consumer.stop()


async def start_group_at_end(bootstrap: str, group: str, topics: Iterable[str]) -> None:
    """Commits `group`'s offsets at the topics' current end, so a service joining it starts
    with what is published from now on (a new deployment on a broker with history)."""
    await group_at(bootstrap, group, await end_offsets(bootstrap, topics))
