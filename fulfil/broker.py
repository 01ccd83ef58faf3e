"""What the command reads from the broker: group offsets against end offsets, and records."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from pydantic import ValidationError

from fulfil.config import OpsError
from shared.contracts.registry import TOPICS
from shared.kafka.security import KafkaSecurity, aiokafka_kwargs
from shared.settings import KafkaSettings


def _auth() -> dict[str, Any]:
    """How the command connects: `FULFIL_KAFKA_SECURITY_PROTOCOL` and the rest of the
    settings' Kafka block (plaintext when unset)."""
    try:
        settings = KafkaSettings()
    except ValidationError as exc:
        reasons = "; ".join(
            str(error["msg"]).removeprefix("Value error, ") for error in exc.errors()
        )
        raise OpsError(f"Kafka settings: {reasons}") from None
    return aiokafka_kwargs(KafkaSecurity.from_settings(settings))


@dataclass(frozen=True)
class PartitionLag:
    group: str
    topic: str
    partition: int
    committed: int | None
    end: int
    lag: int

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    found = consumer.partitions_for_topic(topic)
    if not found:
        await consumer._client.force_metadata_update()
        found = consumer.partitions_for_topic(topic)
    return [TopicPartition(topic, p) for p in sorted(found or ())]


async def lags(bootstrap: str, groups: dict[str, list[str]]) -> list[PartitionLag]:
    """For each group (to the topics it consumes): every partition's committed offset, end
    offset and lag. A partition the group never committed counts from its first offset."""
    auth = _auth()
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="fulfil-ops", **auth)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, client_id="fulfil-ops", enable_auto_commit=False, **auth
    )
    await admin.start()
    await consumer.start()
    try:
        out = []
        for group, topics in groups.items():
            partitions = [tp for t in topics for tp in await _partitions(consumer, t)]
            committed = await admin.list_consumer_group_offsets(group, partitions=partitions)
            ends = await consumer.end_offsets(partitions)
            starts = await consumer.beginning_offsets(partitions)
            for tp in partitions:
                done = committed.get(tp)
                offset = done.offset if done is not None and done.offset >= 0 else None
                position = offset if offset is not None else starts[tp]
                lag = max(0, ends[tp] - position)
                out.append(PartitionLag(group, tp.topic, tp.partition, offset, ends[tp], lag))
        return out
    finally:
        await consumer.stop()
        await admin.close()


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes | None


def known_topics() -> list[str]:
    return [t.name for t in TOPICS]


@contextlib.asynccontextmanager
async def _assigned(
    bootstrap: str, topics: list[str]
) -> AsyncIterator[tuple[AIOKafkaConsumer, list[TopicPartition]]]:
    """A consumer of the command's own (no group, nothing committed) assigned every
    partition of the topics."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, client_id="fulfil-ops", enable_auto_commit=False, **_auth()
    )
    await consumer.start()
    try:
        partitions = [tp for t in topics for tp in await _partitions(consumer, t)]
        consumer.assign(partitions)
        yield consumer, partitions
    finally:
        await consumer.stop()


async def records(
    bootstrap: str,
    topics: list[str],
    *,
    from_beginning: bool,
    idle_seconds: float | None,
) -> AsyncGenerator[Record, None]:
    """The topics' records from their end (or beginning) on, until `idle_seconds` pass with
    nothing new (or forever without it)."""
    async with _assigned(bootstrap, topics) as (consumer, partitions):
        if from_beginning:
            await consumer.seek_to_beginning(*partitions)
        else:
            await consumer.seek_to_end(*partitions)
            for tp in partitions:  # resolve the end now: what comes after the start is shown
                await consumer.position(tp)
        quiet_since = time.monotonic()
        while True:
            batches = await consumer.getmany(timeout_ms=200)
            found = sorted(
                (m for messages in batches.values() for m in messages),
                key=lambda m: (m.timestamp, m.topic, m.partition, m.offset),
            )
            for m in found:
                yield Record(m.topic, m.partition, m.offset, m.timestamp, m.key, m.value)
            if found:
                quiet_since = time.monotonic()
            elif idle_seconds is not None and time.monotonic() - quiet_since > idle_seconds:
                return
            await asyncio.sleep(0)


async def history(
    bootstrap: str, topics: list[str], keep: Callable[[Record], bool]
) -> list[Record]:
    """The records on the topics that `keep` accepts, up to the topics' end offsets as they
    are now."""
    async with _assigned(bootstrap, topics) as (consumer, partitions):
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        left = {tp for tp in partitions if ends[tp] > await consumer.position(tp)}
        found: list[Record] = []
        while left:
            batches = await consumer.getmany(*left, timeout_ms=500)
            for tp, messages in batches.items():
                for m in messages:
                    record = Record(m.topic, m.partition, m.offset, m.timestamp, m.key, m.value)
                    if m.offset < ends[tp] and keep(record):
                        found.append(record)
                if await consumer.position(tp) >= ends[tp]:
                    left.discard(tp)
        return found
