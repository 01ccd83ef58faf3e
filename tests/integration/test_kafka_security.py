"""A secured broker (SASL_SSL, SCRAM-SHA-512, ACLs from the registry) lets each service
write only the topics it produces and read only those it consumes, refuses a wrong
password, and the services' own clients (outbox relay, consumer, faust) work over it.

The broker is a single node of this module's own, in a temporary directory.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    TopicAuthorizationFailedError,
)
from aiokafka.protocol.admin import CreateAclsRequest
from click.testing import CliRunner

from deploy.local.kafka import KafkaCluster
from deploy.local.kafka_security import BrokerSecurity
from fulfil.cli import cli
from services.order.app import build
from services.order.settings import OrderSettings
from shared.contracts import registry
from shared.contracts.events.order import OrderClosed
from shared.kafka.acls import Acl, acls_for, admin_client, apply_acls, held_acls, wire_codes
from shared.kafka.admin import ensure_topics
from shared.kafka.security import KafkaSecurity, aiokafka_kwargs
from tests.support.events import new_order_id
from tests.support.polling import eventually
from tests.support.services import running, settings_for

pytestmark = pytest.mark.slow  # its own broker: 20-30 s in all


@dataclass(frozen=True)
class Secured:
    bootstrap: str
    security: BrokerSecurity

    def auth(self, user: str) -> dict[str, object]:
        return aiokafka_kwargs(self.security.client(user))


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secured]:
    cluster = KafkaCluster(tmp_path_factory.mktemp("secured-kafka"), secured=True)
    bootstrap = cluster.start(timeout=120)
    try:
        admin = cluster.security.client()
        asyncio.run(ensure_topics(bootstrap, security=admin))
        asyncio.run(apply_acls(bootstrap, admin))
        yield Secured(bootstrap, cluster.security)
    finally:
        cluster.stop()


@asynccontextmanager
async def producer(secured: Secured, user: str) -> AsyncIterator[AIOKafkaProducer]:
    client = AIOKafkaProducer(
        bootstrap_servers=secured.bootstrap,
        acks="all",
        enable_idempotence=True,
        request_timeout_ms=10000,
        **secured.auth(user),
    )
    await client.start()
    try:
        yield client
    finally:
        await client.stop()


async def read_from(
    secured: Secured, topic: str, user: str, offsets: dict[TopicPartition, int]
) -> list[bytes]:
    """The values on `topic` from `offsets` on, as they are now, read without a group."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=secured.bootstrap, enable_auto_commit=False, **secured.auth(user)
    )
    await consumer.start()
    try:
        partitions = list(offsets)
        consumer.assign(partitions)
        for tp, offset in offsets.items():
            consumer.seek(tp, offset)
        batches = await consumer.getmany(timeout_ms=1000)
        return [m.value for messages in batches.values() for m in messages if m.value]
    finally:
        await consumer.stop()


async def ends(secured: Secured, topic: str) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=secured.bootstrap, **secured.auth("admin"))
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        found = consumer.partitions_for_topic(topic)
        assert found, f"no partitions of {topic}"
        return await consumer.end_offsets([TopicPartition(topic, p) for p in sorted(found)])
    finally:
        await consumer.stop()


async def test_a_service_writes_its_own_topic_and_is_refused_anothers(secured: Secured) -> None:
    async with producer(secured, "order") as client:
        sent = await client.send_and_wait("orders.v1", b"{}", key=b"o-1")
        assert sent.offset >= 0
        sent = await client.send_and_wait("deadletter.order.v1", b"{}", key=b"o-1")
        assert sent.offset >= 0
        with pytest.raises(TopicAuthorizationFailedError):
            await client.send_and_wait("payments.v1", b"{}", key=b"o-1")
        with pytest.raises(TopicAuthorizationFailedError):
            await client.send_and_wait("deadletter.payment.v1", b"{}", key=b"o-1")


async def test_a_service_reads_only_what_it_consumes_in_its_own_groups(secured: Secured) -> None:
    async with producer(secured, "payment") as client:
        await client.send_and_wait("payments.v1", b"paid", key=b"o-2")

    async def consume(topic: str, group: str) -> list[bytes]:
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=secured.bootstrap,
            group_id=group,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            **secured.auth("order"),
        )
        try:
            await consumer.start()  # a group not ours is refused here or at the first poll
            batches = await consumer.getmany(timeout_ms=5000)
            return [m.value for messages in batches.values() for m in messages if m.value]
        finally:
            await consumer.stop()

    suffix = uuid.uuid4().hex[:8]
    assert b"paid" in await eventually(
        lambda: consume("payments.v1", f"fulfil-order-{suffix}"), what="payments read by order"
    )
    with pytest.raises(TopicAuthorizationFailedError):
        await consume("orders.v1", f"fulfil-order-{suffix}")  # order writes it, never reads it
    with pytest.raises(GroupAuthorizationFailedError):
        await consume("payments.v1", f"fulfil-payment-{suffix}")  # payment's group


async def test_a_wrong_password_is_refused(
    secured: Secured, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = secured.security.client("order").with_user("order", "not-the-password")
    client = AIOKafkaProducer(
        bootstrap_servers=secured.bootstrap, request_timeout_ms=5000, **aiokafka_kwargs(wrong)
    )
    with caplog.at_level(logging.ERROR, logger="aiokafka"), pytest.raises(KafkaConnectionError):
        try:
            await client.start()
        finally:
            await client.stop()
    assert "SaslAuthenticationFailed" in caplog.text


async def test_the_services_clients_work_over_sasl_ssl(secured: Secured, database: str) -> None:
    """The order service as production builds it, as `User:order`: its outbox relay
    publishes, and what it reads (its own consumer's payments, faust's returns) reaches
    its processor, which sets the unreadable aside on its dead-letter topic."""
    as_order: KafkaSecurity = secured.security.client("order")
    settings = settings_for(
        OrderSettings,
        secured.bootstrap,
        database,
        kafka_security_protocol=as_order.protocol,
        kafka_sasl_username=as_order.username,
        kafka_sasl_password=as_order.password,
        kafka_ssl_ca_file=as_order.ca_file,
    )
    orders_at = await ends(secured, "orders.v1")
    dead_at = await ends(secured, "deadletter.order.v1")
    group = f"-secured-{uuid.uuid4().hex[:8]}"
    async with running(build(settings), http=False, group=group) as runtime:
        order_id = new_order_id()
        async with runtime.unit() as unit:
            envelope = await unit.emit(OrderClosed(), order_id=order_id)

        async def published() -> bool:
            values = await read_from(secured, "orders.v1", "admin", orders_at)
            return any(str(envelope.event_id).encode() in value for value in values)

        await eventually(published, timeout=30, what="the relay's record on orders.v1")

        marks = {"payments.v1": b"unreadable-payment", "returns.v1": b"unreadable-return"}
        for topic, mark in marks.items():
            async with producer(secured, registry.topic(topic).producer) as client:
                await client.send_and_wait(topic, mark, key=order_id.encode())

        async def dead_lettered() -> bool:
            values = await read_from(secured, "deadletter.order.v1", "admin", dead_at)
            return all(any(mark in value for value in values) for mark in marks.values())

        await eventually(dead_lettered, timeout=45, what="both set aside on deadletter.order.v1")


def test_security_files_are_private(secured: Secured) -> None:
    for path in (secured.security.users_file, secured.security.keystore):
        assert Path(path).stat().st_mode & 0o077 == 0, f"{path} readable by others"


def test_the_command_reads_the_secured_broker_as_the_settings_say(secured: Secured) -> None:
    admin = secured.security.client()
    assert admin.password is not None
    env = {
        "FULFIL_KAFKA_SECURITY_PROTOCOL": admin.protocol,
        "FULFIL_KAFKA_SASL_USERNAME": "admin",
        "FULFIL_KAFKA_SASL_PASSWORD": admin.password.get_secret_value(),
        "FULFIL_KAFKA_SSL_CA_FILE": str(admin.ca_file),
    }
    args = ["--bootstrap", secured.bootstrap, "lag", "--service", "order", "--json"]
    result = CliRunner().invoke(cli, args, env=env)
    assert result.exit_code == 0, result.output
    topics = {row["topic"] for row in json.loads(result.output)}
    assert topics == {t.name for t in registry.consumed_by("order")}


async def test_applying_again_leaves_exactly_the_generated_acls(secured: Secured) -> None:
    """A grant the registry does not give (here: order writing payments.v1, made by hand)
    is deleted by the next apply; what the registry gives is kept, once."""
    admin = secured.security.client()
    assert await held_acls(secured.bootstrap, admin, "order") == acls_for("order")
    stray = Acl("TOPIC", "LITERAL", "payments.v1", "WRITE")
    client = admin_client(secured.bootstrap, admin)
    await client.start()
    try:
        response = await client._send_request(CreateAclsRequest(*wire_codes(stray, "User:order")))
        assert [code for code, _ in response.creation_responses] == [0]
    finally:
        await client.close()
    assert stray in await held_acls(secured.bootstrap, admin, "order")

    await apply_acls(secured.bootstrap, admin)

    assert await held_acls(secured.bootstrap, admin, "order") == acls_for("order")
    async with producer(secured, "order") as order:
        with pytest.raises(TopicAuthorizationFailedError):
            await order.send_and_wait("payments.v1", b"{}", key=b"o-3")
