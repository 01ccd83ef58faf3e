"""Reads every lifecycle topic of the registry, as an observer with no consumer group.

The demo's live view and the benchmark count what the system did from the
topics themselves, not from the services' databases: each record is one event
in its envelope, and its `occurred_at` is when the producing service decided it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared.contracts.registry import TOPICS


def registry_topics(include_dead_letters: bool = True) -> tuple[str, ...]:
    return tuple(t.name for t in TOPICS if include_dead_letters or not t.dead_letter)


@dataclass(frozen=True, slots=True)
class Record:
    topic: str
    type: str
    event_id: str
    order_id: str | None
    occurred_at: datetime | None
    payload: dict[str, Any]
    timestamp_ms: int  # the broker's record timestamp (append time)
    size: int = 0  # bytes of the value

    @classmethod
    def parse(cls, topic: str, value: bytes | None, timestamp_ms: int) -> Record:
        try:
            body = json.loads(value or b"{}")
        except ValueError:  # a dead letter holds the original, possibly broken, bytes
            body = {}
        if not isinstance(body, dict):
            body = {}
        occurred = body.get("occurred_at")
        return cls(
            topic=topic,
            type=str(
                body.get("type") or ("DeadLetter" if topic.startswith("deadletter.") else "?")
            ),
            event_id=str(body.get("event_id") or ""),
            order_id=body.get("order_id"),
            occurred_at=datetime.fromisoformat(occurred) if isinstance(occurred, str) else None,
            payload=body.get("payload") or {},
            timestamp_ms=timestamp_ms,
            size=len(value or b""),
        )

    @classmethod
    def from_kafka(
        cls,
        topic: str,
        value: bytes | None,
        headers: Sequence[tuple[str, bytes]],
        timestamp_ms: int,
        decode: Collection[str] | None = None,
    ) -> Record:
        """A record from its `type` header, its body decoded only when its type is in
        `decode` (None: always). An undecoded record keeps its topic, type, event id, size
        and timestamp; it has no order id, `occurred_at` or payload. A dead letter is
        never decoded when `decode` is given (its type reads `DeadLetter`)."""
        if decode is None:
            return cls.parse(topic, value, timestamp_ms)
        kind = event_id = None
        for name, raw in headers:
            if name == "type":
                kind = raw.decode()
            elif name == "event_id":
                event_id = raw.decode()
        if topic.startswith("deadletter."):
            kind = "DeadLetter"
        elif kind is None or kind in decode:
            return cls.parse(topic, value, timestamp_ms)
        return cls(
            topic=topic,
            type=kind,
            event_id=event_id or "",
            order_id=None,
            occurred_at=None,
            payload={},
            timestamp_ms=timestamp_ms,
            size=len(value or b""),
        )


class TopicTap:
    """Assigns itself every partition of `topics`; starts at the end or the beginning.

    `decode`: the event types whose bodies are read (None: every record's); the others
    are counted from their headers (see `Record.from_kafka`). `fetch_min_bytes` and
    `fetch_max_wait_ms`: the broker answers a fetch once it has that much or that wait
    passed (fewer, fuller fetches under load, for the broker and for the tap).
    """

    def __init__(
        self,
        bootstrap: str,
        topics: Iterable[str] | None = None,
        from_beginning: bool = False,
        decode: Collection[str] | None = None,
        fetch_min_bytes: int = 1,
        fetch_max_wait_ms: int = 100,
    ) -> None:
        self.bootstrap = bootstrap
        self.topics = tuple(topics or registry_topics())
        self.from_beginning = from_beginning
        self.decode = frozenset(decode) if decode is not None else None
        self.fetch_min_bytes = fetch_min_bytes
        self.fetch_max_wait_ms = fetch_max_wait_ms
        self.consumer: AIOKafkaConsumer | None = None

    async def start(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest" if self.from_beginning else "latest",
            fetch_min_bytes=self.fetch_min_bytes,
            fetch_max_wait_ms=self.fetch_max_wait_ms,
            max_partition_fetch_bytes=4 * 1024 * 1024,
        )
        partitions = await self._partitions()
        await consumer.start()
        consumer.assign(partitions)
        if self.from_beginning:
            await consumer.seek_to_beginning(*partitions)
        else:
            await consumer.seek_to_end(*partitions)
        self.consumer = consumer

    async def _partitions(self) -> list[TopicPartition]:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=30000)
        await admin.start()
        try:
            described = await admin.describe_topics(list(self.topics))
        finally:
            await admin.close()
        return [
            TopicPartition(topic["topic"], partition["partition"])
            for topic in described
            if not topic.get("error_code")
            for partition in topic["partitions"]
        ]

    async def stop(self) -> None:
        if self.consumer is not None:
            await self.consumer.stop()
            self.consumer = None

    async def batches(self, timeout_ms: int = 200) -> AsyncIterator[list[Record]]:
        """Yields the records fetched in each poll (an empty list when nothing came)."""
        assert self.consumer is not None, "start() the tap first"
        while True:
            fetched = await self.consumer.getmany(timeout_ms=timeout_ms, max_records=5000)
            decode = self.decode
            yield [
                Record.from_kafka(tp.topic, msg.value, msg.headers, msg.timestamp, decode)
                for tp, messages in fetched.items()
                for msg in messages
            ]
