"""The transactional outbox and its relay.

`add` writes an event in the caller's transaction. The relay, one per service
(held by an advisory lock, so replicas take over from each other), publishes
unsent rows in id order through an idempotent producer with `acks=all`, marks
what the broker acknowledged, and leaves the rest for the next pass: a crash
anywhere loses nothing and can only repeat a record, which consumers' inboxes
absorb.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from collections.abc import Mapping
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from opentelemetry.trace import Span, SpanKind, StatusCode, Tracer
from prometheus_client import Counter

from shared import db, metrics, tracing
from shared.contracts.envelope import Envelope
from shared.contracts.registry import Topic
from shared.logging import get_logger

log = get_logger(__name__)
_RELAY_LOCK = 0x0F0F_2002

Headers = list[tuple[str, bytes]]


_INSERT = (
    "INSERT INTO outbox (topic, key, value, headers, event_id, event_type, traceparent,"
    " tracestate) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
)
Row = tuple[
    str, bytes | None, bytes, list[list[str]], str | None, str | None, str | None, str | None
]


def row(topic: Topic, envelope: Envelope, trace: tracing.TraceHeaders | None = None) -> Row:
    """The outbox row of an envelope on its topic, with the trace context that wrote it."""
    return (
        topic.name,
        topic.key_of(envelope).encode(),
        envelope.to_bytes(),
        _headers(envelope.headers()),
        str(envelope.event_id),
        envelope.type,
        *(trace or _UNTRACED),
    )


_UNTRACED = (None, None)


async def add(
    conn: asyncpg.Connection,
    topic: Topic,
    envelope: Envelope,
    trace: tracing.TraceHeaders | None = None,
) -> None:
    await conn.execute(_INSERT, *row(topic, envelope, trace))


async def add_many(conn: asyncpg.Connection, rows: list[Row]) -> None:
    """Writes rows in one pipelined round trip, in the order given (the publishing order)."""
    if rows:
        await conn.executemany(_INSERT, rows)


def _headers(headers: Headers) -> list[list[str]]:
    return [[name, raw.decode("latin-1")] for name, raw in headers]


async def add_raw(
    conn: asyncpg.Connection,
    *,
    topic: str,
    key: bytes | None,
    value: bytes,
    headers: Headers,
    event_id: str | None = None,
    event_type: str | None = None,
) -> None:
    await conn.execute(
        _INSERT, topic, key, value, _headers(headers), event_id, event_type, None, None
    )


def make_producer(
    bootstrap: str, client_id: str, *, auth: Mapping[str, Any] | None = None
) -> AIOKafkaProducer:
    """`auth`: how to connect (shared.kafka.security.aiokafka_kwargs), plaintext without."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=2,
        request_timeout_ms=30000,
        **(auth or {}),
    )


PASSES = Counter(
    "fulfil_outbox_relay_passes_total", "Outbox relay passes that read rows to publish"
)
_READ = (
    "SELECT id, topic, key, value, headers, traceparent, tracestate FROM outbox"
    " WHERE sent_at IS NULL ORDER BY id LIMIT $1"
)
# The previous pass's acknowledged rows are marked by the statement that reads the next
# pass's rows: one round trip and one commit per pass. The read sees the rows as they were
# before this statement's own update, hence the explicit exclusion.
_MARK_AND_READ = (
    "WITH marked AS (UPDATE outbox SET sent_at = now() WHERE id = ANY($2::bigint[]))"
    " SELECT id, topic, key, value, headers, traceparent, tracestate FROM outbox"
    " WHERE sent_at IS NULL AND id <> ALL($2::bigint[]) ORDER BY id LIMIT $1"
)
_MARK = "UPDATE outbox SET sent_at = now() WHERE id = ANY($1::bigint[])"
_BACKLOG_EVERY_SECONDS = 5.0


class OutboxRelay:
    """`passes` counts the passes that read rows (each publishes what it read); each costs
    one statement, which also marks what the pass before it published. After a wake the
    relay keeps reading until a read finds nothing: rows committed while a pass waits for
    the broker go out with the next one. The backlog gauge is set from what it reads."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        dsn: str,
        producer: AIOKafkaProducer,
        *,
        batch_size: int = 500,
        poll_seconds: float = 30.0,
        retry_seconds: float = 0.5,
        service: str | None = None,
    ) -> None:
        """`service` names the tracer of the publishing spans (none without it)."""
        self.service = service
        self.pool = pool
        self.dsn = dsn
        self.producer = producer
        self.batch_size = batch_size
        # NOTIFY wakes the relay for every commit that adds rows, and a reconnect reads
        # everything unsent; the poll is only a safety net, so it is slow.
        self.poll_seconds = poll_seconds
        self.retry_seconds = retry_seconds
        self.passes = 0
        self._wake = asyncio.Event()
        self._counted_at = -_BACKLOG_EVERY_SECONDS
        self._stopping = False

    def stop(self) -> None:
        """Ends `run` after the pass in hand (its rows published and marked): a stop, so
        that the next leader publishes none of them again."""
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        """Publishes until cancelled; waits for the leader lock when another replica holds it.
        When the database or the broker is unavailable it starts over (a new listening
        connection, the lock taken again); anything else ends the loop, and the runtime
        with it."""
        while not self._stopping:
            try:
                await self._lead()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not (db.is_transient(exc) or isinstance(exc, KafkaError)):
                    raise
                log.warning("outbox relay interrupted; restarting", error=repr(exc))
            await asyncio.sleep(1)

    async def _lead(self) -> None:
        conn: asyncpg.Connection = await asyncpg.connect(self.dsn)
        try:
            while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", _RELAY_LOCK):
                if self._stopping:  # another replica leads: nothing in hand
                    return
                await asyncio.sleep(self.retry_seconds * 4)
            await conn.add_listener("outbox", self._notified)
            # The lock and the listener live on this connection: once it is gone (the
            # database restarted) another replica may lead, so this one starts over, woken
            # by the loss rather than finding it at its next poll.
            conn.add_termination_listener(self._notified)
            while not conn.is_closed():
                await self.drain()
                if self._stopping:
                    return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
            raise asyncpg.ConnectionDoesNotExistError("the relay's listening connection closed")
        finally:
            with contextlib.suppress(Exception):
                await asyncio.shield(conn.close())

    def _notified(self, *_: Any) -> None:
        self._wake.set()

    async def drain(self) -> int:
        """Publishes unsent rows until a read finds none; returns how many it published.
        Cancelled (a stop), it still marks what the broker acknowledged."""
        published = 0
        acked: list[int] = []
        async with self.pool.acquire() as conn:
            try:
                while True:
                    self._wake.clear()  # a commit from now on is seen by this read or wakes us
                    if acked:
                        rows = await conn.fetch(_MARK_AND_READ, self.batch_size, acked)
                        published += len(acked)
                    else:
                        rows = await conn.fetch(_READ, self.batch_size)
                    acked = []
                    await self._gauge(conn, len(rows))
                    if not rows or self._stopping:  # stopping: what is marked is done
                        return published
                    self.passes += 1
                    PASSES.inc()
                    acked, failed = await self._publish(rows)
                    if failed:
                        await conn.execute(_MARK, acked)
                        published, acked = published + len(acked), []
                        await asyncio.sleep(self.retry_seconds)
            except asyncio.CancelledError:
                if acked:  # acknowledged by the broker, not marked yet: the next leader
                    with contextlib.suppress(Exception):  # would publish them again
                        await asyncio.shield(conn.execute(_MARK, acked))
                raise

    async def _publish(self, rows: list[asyncpg.Record]) -> tuple[list[int], int]:
        """Sends `rows` in id order and waits for the broker: the ids it acknowledged and
        how many it did not."""
        send = self.producer.send
        traced = tracing.tracer(self.service) if self.service else None
        spans: list[Span | None] = []
        futures = []
        for row in rows:
            headers = [(name, raw.encode("latin-1")) for name, raw in row["headers"]]
            trace = None if row["traceparent"] is None else (row["traceparent"], row["tracestate"])
            if traced is not None:  # the record names its publishing span, when traced
                span = None if trace is None else _publish_span(traced, row, trace)
                spans.append(span)
                trace = None if span is None else tracing.current(span)
            if trace is not None:
                headers.append((tracing.TRACEPARENT, trace[0].encode()))
                if trace[1]:
                    headers.append((tracing.TRACESTATE, trace[1].encode()))
            futures.append(
                await send(row["topic"], value=row["value"], key=row["key"], headers=headers)
            )
        results = await asyncio.gather(*futures, return_exceptions=True)
        if spans:
            _end_spans(spans, results)
        acked: list[int] = []
        topics: collections.Counter[str] = collections.Counter()
        error: BaseException | None = None
        for row, result in zip(rows, results, strict=True):
            if isinstance(result, BaseException):
                error = error or result
                continue
            acked.append(row["id"])
            topics[row["topic"]] += 1
        for topic, count in topics.items():
            metrics.EVENTS_PUBLISHED.labels(topic).inc(count)
        failed = len(rows) - len(acked)
        if failed:
            metrics.OUTBOX_PUBLISH_FAILURES.inc(failed)
            log.warning(
                "outbox records not acknowledged; will retry", failed=failed, error=repr(error)
            )
        return acked, failed

    async def _gauge(self, conn: asyncpg.Connection, read: int) -> None:
        """The backlog gauge, from what a read found: exact below a full batch (what it read
        is all there is); counted, at most every few seconds, while a full batch waits."""
        if read < self.batch_size:
            metrics.OUTBOX_BACKLOG.set(read)
            return
        now = time.monotonic()
        if now - self._counted_at >= _BACKLOG_EVERY_SECONDS:
            self._counted_at = now
            metrics.OUTBOX_BACKLOG.set(await backlog(conn))


def _publish_span(traced: Tracer, row: asyncpg.Record, trace: tracing.TraceHeaders) -> Span:
    """The span of one record's publishing, a child of what wrote its row; the record's
    `traceparent` names it, so the consumers' spans are its children."""
    attributes: dict[str, Any] = {
        "messaging.system": "kafka",
        "messaging.operation.type": "send",
        "messaging.destination.name": row["topic"],
        "fulfil.outbox_id": row["id"],
    }
    for name, value in row["headers"]:
        if name == "ce_subject":
            attributes[tracing.ORDER_ID] = value
        elif name == "type":
            attributes[tracing.EVENT_TYPE] = value
    return traced.start_span(
        f"send {row['topic']}",
        context=tracing.parent_context(trace),
        kind=SpanKind.PRODUCER,
        attributes=attributes,
    )


def _end_spans(spans: list[Span | None], results: list[Any]) -> None:
    for span, result in zip(spans, results, strict=True):
        if span is None:
            continue
        if isinstance(result, BaseException):
            span.set_status(StatusCode.ERROR, repr(result))
        span.end()


async def backlog(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL"))


async def purge(conn: asyncpg.Connection, older_than_hours: float) -> int:
    result = await conn.execute(
        "DELETE FROM outbox WHERE sent_at < now() - make_interval(secs => $1)",
        older_than_hours * 3600,
    )
    return int(result.split()[-1])
