"""The faust app of a service: one agent per consumed topic, no business in it.

Each agent keeps one batch in flight (concurrency 1; faust-streaming can
commit past unfinished messages above that): it takes what has arrived, up to
BATCH_MAX records or BATCH_WITHIN_SECONDS of waiting, hands the records as raw
bytes to the MessageProcessor, which owns decoding, routing, retries and dead
letters, and acknowledges them only once the processor is done with all of
them (`noack_take`: faust's `take` would acknowledge a batch even when its
processing was interrupted). faust's exactly-once mode is not used: the inbox and the outbox give
effectively-once processing.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import faust

from shared.consumer import MessageProcessor, RawMessage
from shared.contracts.registry import Topic

BATCH_MAX = 200
BATCH_WITHIN_SECONDS = 0.01
# A member that stops heartbeating (a crashed process) leaves the group after this long,
# rather than faust's 60 s, during which its partitions are consumed by no one.
SESSION_TIMEOUT_SECONDS = 10.0
HEARTBEAT_SECONDS = 1.0


def build_faust_app(
    service: str, bootstrap: str, *, group_suffix: str = "", instance_id: str | None = None
) -> faust.App:
    """`instance_id` names this replica for static group membership (`group.instance.id`):
    a replica restarted under the same name takes its partitions back at once instead of
    waiting for its predecessor's session to time out. Two live replicas must never share
    one (the broker fences the older)."""
    datadir = Path(tempfile.gettempdir()) / "fulfil-faust"  # faust wants one; tables are unused
    datadir.mkdir(exist_ok=True)
    group = f"fulfil-{service}{group_suffix}"
    return faust.App(
        group,
        broker=[f"kafka://{host}" for host in bootstrap.split(",")],
        broker_client_id=f"fulfil-{service}",
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
            async for events in stream.noack_take(BATCH_MAX, within=BATCH_WITHIN_SECONDS):
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
