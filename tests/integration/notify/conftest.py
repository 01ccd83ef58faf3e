"""Helpers for the notify integration tests: the sinks, a fresh consumer group, sample events."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from deploy.local.ports import free_ports
from deploy.local.sinks import Sinks
from services.notify.settings import NotifySettings
from shared.contracts.envelope import Envelope, Event, Money
from shared.contracts.events.common import Address, Contact, Locale, OrderLine, PaymentMethod
from shared.contracts.events.order import OrderPlaced
from shared.contracts.registry import consumed_by, topic_for_event
from tests.support.infra import Infra
from tests.support.kafka import publish
from tests.support.polling import eventually
from tests.support.services import settings_for

PRODUCERS = {"orders.v1": "order", "payments.v1": "payment", "shipments.v1": "logistics"}
PRODUCERS["returns.v1"] = "returns"
SHOP_KEY = "dev-shop-key"
OPS_KEY = "dev-ops-key"


@pytest.fixture
async def sinks() -> AsyncIterator[Sinks]:
    smtp_port, http_port = free_ports(2)
    started = await Sinks(smtp_port, http_port).start()
    try:
        yield started
    finally:
        await started.stop()


def notify_settings(infra: Infra, database: str, sinks: Sinks, **overrides: Any) -> NotifySettings:
    values: dict[str, Any] = {
        "smtp_port": sinks.smtp_port,
        "sms_gateway_url": f"{sinks.http_url}/sms",
        "sender_poll_seconds": 0.1,
        "sender_backoff_seconds": 0.1,
        "sender_backoff_max_seconds": 0.5,
        "quiet_hours_start": "00:00",
        "quiet_hours_end": "00:00",  # no quiet hours unless a test sets them
        "reminder_offsets_seconds": [3600],
        "reminder_before_close_seconds": 0,
    }
    values.update(overrides)
    return settings_for(NotifySettings, infra.bootstrap, database, **values)


async def end_offsets(bootstrap: str) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        partitions = [
            TopicPartition(t.name, p) for t in consumed_by("notify") for p in range(t.partitions)
        ]
        return dict(await consumer.end_offsets(partitions))
    finally:
        await consumer.stop()


async def group_at(bootstrap: str, offsets: dict[TopicPartition, int]) -> str:
    """A new consumer group of notify that starts at `offsets` (not at the topics' start)."""
    suffix = f"-t{uuid.uuid4().hex[:10]}"
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=f"fulfil-notify{suffix}", enable_auto_commit=False
    )
    await consumer.start()
    try:
        consumer.assign(list(offsets))
        await consumer.commit(dict(offsets))
    finally:
        await consumer.stop()
    return suffix


async def fresh_group(bootstrap: str) -> str:
    return await group_at(bootstrap, await end_offsets(bootstrap))


def new_order_id() -> str:
    return f"ord_{uuid.uuid4().hex[:12]}"


def contact_for(order_id: str) -> Contact:
    digits = str(int(uuid.uuid4().hex[:12], 16))[-8:].rjust(8, "0")
    return Contact(email=f"{order_id}@example.com", phone=f"+86139{digits}")


def order_placed(
    order_id: str,
    *,
    locale: str = "en",
    time_zone: str = "Asia/Shanghai",
    customer_id: str | None = None,
    contact: Contact | None = None,
    due_in: float = 3 * 86400,
) -> OrderPlaced:
    return OrderPlaced(
        customer_id=customer_id,
        lines=(
            OrderLine(
                line_id="l1",
                sku="TEE-RED-M",
                name="Cotton T-shirt",
                variant="Red / M",
                quantity=1,
                unit_price=Money(amount=7900, currency="CNY"),
            ),
        ),
        total=Money(amount=7900, currency="CNY"),
        contact=contact or contact_for(order_id),
        address=Address(
            recipient="Li Wei", line1="88 Century Avenue", city="Shanghai", country="CN"
        ),
        locale=Locale(locale),
        time_zone=time_zone,
        payment_method=PaymentMethod.WALLET,
        payment_due_at=datetime.now(UTC) + timedelta(seconds=due_in),
        order_url=f"https://shop.example/orders/{order_id}?token=t-{order_id}",
    )


def wrap(event: Event, order_id: str) -> Envelope:
    producer = PRODUCERS[topic_for_event(event.TYPE).name]
    return Envelope.wrap(event, producer=producer, order_id=order_id)


async def send(infra: Infra, *envelopes: Envelope) -> None:
    for envelope in envelopes:
        await publish(infra.bootstrap, envelope)


async def received(sinks: Sinks, contact: Contact, count: int, timeout: float = 30) -> list[Any]:
    """Waits until the sinks hold `count` messages for this contact; returns them."""

    async def probe() -> list[Any]:
        found = sinks.store.messages(to=contact.email) + sinks.store.messages(to=contact.phone)
        return found if len(found) >= count else []

    return await eventually(probe, timeout=timeout, what=f"{count} messages in the sinks")


async def rows(runtime: Any, sql: str, *args: Any) -> list[dict[str, Any]]:
    async with runtime.db.acquire() as conn:
        return [dict(r) for r in await conn.fetch(sql, *args)]
