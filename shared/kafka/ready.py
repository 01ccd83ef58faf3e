"""Waiting for the broker at start: a service started before its broker serves (not up yet,
restarting, or up and fenced by its controller, so its metadata names no broker) waits and
tries again instead of dying.

aiokafka's clients do not wait by themselves. `bootstrap()` raises when no broker answers;
and when the broker answers with metadata that names no broker (a KRaft broker its
controller has not unfenced yet), the bootstrap "succeeds", and the consumer's group
coordination dies at its first coordinator lookup on an assertion ("Did we not perform
bootstrap?") that no retry catches: the process exits. `wait_for_broker` is the gate a
service passes before it starts its Kafka clients; `until_brokers_known` closes the same
gap for a client already bootstrapped.
"""

from __future__ import annotations

import asyncio
import time

from aiokafka.client import AIOKafkaClient, CoordinationType
from aiokafka.errors import KafkaError

from shared.kafka.security import PLAINTEXT, KafkaSecurity, aiokafka_kwargs
from shared.logging import get_logger

log = get_logger(__name__)

BROKER_WAIT_SECONDS = 120.0  # then the start fails and the supervisor starts the process again
RETRY_FIRST_SECONDS = 0.5
RETRY_MAX_SECONDS = 5.0
NOT_READY = (KafkaError, OSError, asyncio.TimeoutError)


class BrokerNotReady(RuntimeError):
    """The broker did not serve metadata (and the group's coordinator) in time."""


async def wait_for_broker(
    bootstrap: str,
    *,
    group: str | None = None,
    security: KafkaSecurity = PLAINTEXT,
    timeout: float = BROKER_WAIT_SECONDS,
) -> None:
    """Returns once a broker answers with metadata naming at least one broker and, given a
    `group`, names that group's coordinator; retries with backoff until `timeout`."""
    deadline = time.monotonic() + timeout
    delay = RETRY_FIRST_SECONDS
    while True:
        try:
            await _probe(bootstrap, group, security)
            return
        except NOT_READY as exc:
            if time.monotonic() + delay > deadline:
                raise BrokerNotReady(f"no broker ready at {bootstrap}: {exc!r}") from exc
            log.warning("broker not ready yet; retrying", error=repr(exc), in_seconds=delay)
        await asyncio.sleep(delay)
        delay = min(delay * 2, RETRY_MAX_SECONDS)


async def _probe(bootstrap: str, group: str | None, security: KafkaSecurity) -> None:
    client = AIOKafkaClient(
        bootstrap_servers=bootstrap,
        client_id="fulfil-start-probe",
        request_timeout_ms=10_000,
        **aiokafka_kwargs(security),
    )
    try:
        await client.bootstrap()
        await until_brokers_known(client, timeout=0)
        if group is not None:
            await client.coordinator_lookup(CoordinationType.GROUP, group)
    finally:
        await client.close()


async def until_brokers_known(client: AIOKafkaClient, *, timeout: float) -> None:
    """Refreshes a bootstrapped client's metadata until it names a broker; raises
    KafkaError after `timeout` (0: one look)."""
    deadline = time.monotonic() + timeout
    delay = RETRY_FIRST_SECONDS
    while not client.cluster.brokers():
        if time.monotonic() >= deadline:
            raise KafkaError("the broker's metadata names no broker (not unfenced yet?)")
        await asyncio.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 2, RETRY_MAX_SECONDS)
        await client.force_metadata_update()
