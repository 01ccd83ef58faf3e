"""A service's consumers: its topics, read in batches, handed to the MessageProcessor.

faust is the services' stream framework; the topics every order's happy path carries
(`Topic.per_order`: orders, payments, shipments) are read on the aiokafka consumer faust
itself runs on, driven directly, because there faust's per-record machinery was the cost
(shared.kafka.groups says which topic goes where; one group cannot mix faust's assignor
with a plain one, so each service has a group for each).

`ServiceConsumer` (the hot topics) drives aiokafka's consumer in the service's event loop:
it polls what has arrived (up to BATCH_MAX records), hands the records as raw bytes to
the MessageProcessor, which owns decoding, routing, retries and dead letters, and records
each partition's next offset only once the processor is done with all of them (their
database transactions committed). Those offsets are committed to the group at most every
COMMIT_EVERY_SECONDS, when partitions are revoked and at a clean stop; a crash between
two commits redelivers records the inbox has seen, so nothing runs twice. Read through
faust, a record cost several times the CPU (its consumer thread and the hand-off to the
service's loop, a task per `wait_first`, an event and an ack per record:
tests/bench/micro/consumer_cpu.py).

`build_faust_app` and `attach_agents` (the other topics: refunds and returns, a fraction
of orders) are a faust agent per topic, one batch in flight (concurrency 1: faust can
commit past unfinished records above that), acknowledged only once the processor is done
with it (`noack_take`; `take` would acknowledge a batch whose processing was
interrupted). An idle agent wakes every `within` seconds; COLD_WITHIN_SECONDS keeps that
cheap at the price of at most that much latency per hop on these topics.
faust's exactly-once mode is not used: the inbox and the outbox give effectively-once
processing.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import faust
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError
from faust.exceptions import AlreadyConfiguredWarning

from shared.consumer import MessageProcessor
from shared.contracts.registry import Topic
from shared.kafka.groups import group_id
from shared.kafka.ready import (
    BROKER_WAIT_SECONDS,
    NOT_READY,
    RETRY_FIRST_SECONDS,
    RETRY_MAX_SECONDS,
    until_brokers_known,
    wait_for_broker,
)
from shared.kafka.security import PLAINTEXT, KafkaSecurity, aiokafka_kwargs, faust_credentials
from shared.logging import get_logger
from shared.messages import RawMessage

log = get_logger(__name__)

BATCH_MAX = 200
# How long a faust agent gathers a batch: a record waits at most this long, and an idle
# agent wakes this often (tests/bench/micro/consumer_idle.py measures the idle cost).
COLD_WITHIN_SECONDS = 0.1
# A member that stops heartbeating (a crashed process) leaves the group after this long,
# rather than faust's 60 s, during which its partitions are consumed by no one.
SESSION_TIMEOUT_SECONDS = 10.0
HEARTBEAT_SECONDS = 3.0  # a third of the session, as Kafka advises: 3 requests a session
COMMIT_EVERY_SECONDS = 1.0
# How long a stop waits for the batch in hand to finish (its records are redelivered if not).
STOP_GRACE_SECONDS = 10.0
# An idle poll waits this long at the broker for a record (a record ends the wait at once).
IDLE_POLL_SECONDS = 5.0
# How long one fetch waits at the broker when it has nothing (a record ends it at once).
# aiokafka sends no second fetch to a broker while one is out, and leaves the partitions
# whose records are still buffered out of it: a record arriving there waits for the fetch
# in flight to end, so this bounds the extra wait of a busy consumer.
FETCH_MAX_WAIT_SECONDS = 0.5


def build_faust_app(
    service: str,
    bootstrap: str,
    *,
    group_suffix: str = "",
    instance_id: str | None = None,
    security: KafkaSecurity = PLAINTEXT,
) -> faust.App:
    """`instance_id` names this replica for static group membership (`group.instance.id`):
    a replica restarted under the same name takes its partitions back at once instead of
    waiting for its predecessor's session to time out. Two live replicas must never share
    one (the broker fences the older)."""
    datadir = Path(tempfile.gettempdir()) / "fulfil-faust"  # faust wants one; tables are unused
    datadir.mkdir(exist_ok=True)
    group = group_id(service, group_suffix)
    return faust.App(
        group,
        broker=[f"kafka://{host}" for host in bootstrap.split(",")],
        broker_client_id=f"fulfil-{service}",
        broker_credentials=faust_credentials(security),
        consumer_group_instance_id=f"{group}-{instance_id}" if instance_id else None,
        broker_session_timeout=SESSION_TIMEOUT_SECONDS,
        broker_heartbeat_interval=HEARTBEAT_SECONDS,
        key_serializer="raw",
        value_serializer="raw",
        web_enabled=False,
        autodiscover=False,
        topic_allow_declare=False,
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        broker_commit_every=100,
        broker_commit_interval=1.0,
        producer_acks=-1,
        loghandlers=[],
        datadir=str(datadir / "{conf.name}"),
    )


def _raw(message: Any) -> RawMessage:
    headers = message.headers or ()
    if isinstance(headers, dict):
        headers = headers.items()
    return RawMessage(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        key=message.key,
        value=message.value,
        headers=tuple((str(k), bytes(v or b"")) for k, v in headers),
    )


def attach_agents(
    app: faust.App,
    topics: tuple[Topic, ...],
    processor: MessageProcessor,
    on_failure: Callable[[str, BaseException], None] | None = None,
    *,
    within: float = COLD_WITHIN_SECONDS,
) -> None:
    """One agent per topic; each record goes to the processor, then is acknowledged.
    The processor retries what is transient and dead-letters poison itself, so what
    escapes it is a bug: `on_failure` hears of it (the runtime then stops the process for
    its supervisor) rather than faust restarting the agent past unacknowledged records."""
    for declared in topics:
        channel = app.topic(
            declared.name,
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
            allow_empty=True,
        )

        async def consume(stream: Any, name: str = declared.name) -> None:
            async for events in stream.noack_take(BATCH_MAX, within=within):
                raws = [_raw(event.message) for event in events]
                try:
                    await processor.process_batch(raws)
                except Exception as exc:
                    if on_failure is not None:
                        on_failure(f"consumer:{name}", exc)
                    raise
                for event in events:
                    await stream.ack(event)

        app.agent(channel, name=f"{app.conf.id}.{declared.name}", concurrency=1)(consume)


async def faust_app_crashed(app: faust.App) -> None:
    """Raises once the app has crashed (faust's own failure, outside the agents: its consumer
    thread, a rebalance); returns if it stops without."""
    await app.wait_until_stopped()
    if app.crashed:
        raise RuntimeError(f"faust crashed: {app.crash_reason!r}")


async def stop_faust_app(app: faust.App, *, failed: bool) -> None:
    """A clean stop lets the agents' batches in hand finish and be acknowledged first. After
    a failure those records are never acknowledged (the group's next member reads them
    again), and faust would wait for them forever: the stop then does not wait."""
    if failed:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AlreadyConfiguredWarning)  # read again at stop
            app.conf.stream_wait_empty = False
    await app.stop()


def consumer_config(
    service: str,
    bootstrap: str,
    *,
    group_suffix: str = "",
    instance_id: str | None = None,
    security: KafkaSecurity = PLAINTEXT,
) -> dict[str, Any]:
    """The aiokafka consumer's settings. `instance_id` names this replica for static group
    membership (`group.instance.id`): a replica restarted under the same name takes its
    partitions back at once instead of waiting for its predecessor's session to time out.
    Two live replicas must never share one (the broker fences the older)."""
    group = group_id(service, group_suffix)
    return {
        "bootstrap_servers": bootstrap,
        "client_id": f"fulfil-{service}",
        "group_id": group,
        "group_instance_id": f"{group}-{instance_id}" if instance_id else None,
        "session_timeout_ms": int(SESSION_TIMEOUT_SECONDS * 1000),
        "heartbeat_interval_ms": int(HEARTBEAT_SECONDS * 1000),
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "max_poll_records": BATCH_MAX,
        "fetch_max_wait_ms": int(FETCH_MAX_WAIT_SECONDS * 1000),
        **aiokafka_kwargs(security),
    }


class ServiceConsumer(ConsumerRebalanceListener):
    """Reads the service's topics and hands each poll's records to the processor, in
    partition order. `run` is the loop; what escapes the processor is a bug and ends it
    (the runtime then stops the process for its supervisor) with nothing committed past
    the last batch that completed. Cancelling `run` is the clean stop: the batch in hand
    is finished first (up to STOP_GRACE_SECONDS), what is done is committed, and the
    consumer leaves (a static member keeps its place until its session times out)."""

    def __init__(
        self,
        service: str,
        bootstrap: str,
        topics: tuple[Topic, ...],
        processor: MessageProcessor,
        *,
        group_suffix: str = "",
        instance_id: str | None = None,
        security: KafkaSecurity = PLAINTEXT,
    ) -> None:
        self.topics = [t.name for t in topics]
        self.processor = processor
        self.config = consumer_config(
            service,
            bootstrap,
            group_suffix=group_suffix,
            instance_id=instance_id,
            security=security,
        )
        self.group = str(self.config["group_id"])
        self.security = security
        self._consumer: AIOKafkaConsumer | None = None
        self._done: dict[TopicPartition, int] = {}  # handled up to here, not committed yet
        self._due = 0.0  # when `_done` is committed
        self._busy = asyncio.Lock()  # held while a batch is processed and committed

    async def start(self) -> None:
        """Joins once the broker serves: a broker not up yet, or whose metadata names no
        broker yet, is waited for (shared.kafka.ready) rather than ending the process."""
        await wait_for_broker(
            self.config["bootstrap_servers"], group=self.group, security=self.security
        )
        deadline = time.monotonic() + BROKER_WAIT_SECONDS
        while True:
            consumer = AIOKafkaConsumer(**self.config)
            try:
                await consumer.start()
                # Its group coordination starts at `subscribe` and dies on a client that
                # knows no broker, so the client must know one first.
                await until_brokers_known(consumer._client, timeout=RETRY_MAX_SECONDS)
                break
            except NOT_READY as exc:
                with contextlib.suppress(Exception):
                    await consumer.stop()
                if time.monotonic() >= deadline:
                    raise
                log.warning("consumer could not start yet; retrying", error=repr(exc))
                await asyncio.sleep(RETRY_FIRST_SECONDS)
        self._consumer = consumer
        self._consumer.subscribe(self.topics, listener=self)

    async def run(self) -> None:
        consumer = self._consumer
        assert consumer is not None, "not started"
        try:
            while True:
                wait = IDLE_POLL_SECONDS
                if self._done:
                    wait = max(0.0, min(wait, self._due - time.monotonic()))
                polled = await consumer.getmany(timeout_ms=int(wait * 1000))
                work = asyncio.ensure_future(self._handle(polled))
                try:
                    await asyncio.shield(work)
                except asyncio.CancelledError:
                    await self._finish(work)
                    raise
        finally:
            await self._commit()
            with contextlib.suppress(Exception):
                await consumer.stop()

    async def _finish(self, work: asyncio.Future[None]) -> None:
        """At a stop, lets the batch in hand end (so its records count as done)."""
        try:
            await asyncio.wait_for(work, STOP_GRACE_SECONDS)
        except TimeoutError:
            log.warning("consumer stopped with a batch unfinished; it will be redelivered")
        except Exception as exc:
            log.error("consumer batch failed while stopping", error=repr(exc))

    async def _handle(self, polled: dict[TopicPartition, list[Any]]) -> None:
        async with self._busy:
            assert self._consumer is not None
            assigned = self._consumer.assignment()
            mine = {tp: records for tp, records in polled.items() if records and tp in assigned}
            if mine:
                raws = [_raw(record) for records in mine.values() for record in records]
                await self.processor.process_batch(raws)
                if not self._done:
                    self._due = time.monotonic() + COMMIT_EVERY_SECONDS
                for tp, records in mine.items():
                    self._done[tp] = records[-1].offset + 1
            if self._done and time.monotonic() >= self._due:
                await self._commit()

    async def _commit(self) -> None:
        """Commits what is done on the partitions still ours; a failure leaves it to the
        next owner to read again (its inbox has seen it)."""
        done, self._done = self._done, {}
        if self._consumer is None or not done:
            return
        ours = {tp: offset for tp, offset in done.items() if tp in self._consumer.assignment()}
        if not ours:
            return
        try:
            await self._consumer.commit(ours)
        except KafkaError as exc:
            log.warning("consumer offsets not committed", error=repr(exc))

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        async with self._busy:  # the batch in hand ends first, then its offsets go
            await self._commit()

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        return None
