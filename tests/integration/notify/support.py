"""What is about notify alone in its tests: the service with its sinks, its customers'
contacts, the orders it tells of, and what reached the sinks."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from aiokafka import TopicPartition

from deploy.local.sinks import Sinks
from services.notify.app import build
from services.notify.settings import NotifySettings
from shared.contracts.events.common import Address, Contact, Locale, PaymentMethod
from shared.contracts.events.logistics import ShipmentShipped
from shared.contracts.events.order import OrderPaid, OrderPlaced
from shared.contracts.registry import consumed_by
from shared.runtime import Runtime
from tests.support import events, kafka
from tests.support.infra import Infra
from tests.support.polling import eventually
from tests.support.services import new_group, service

DEFAULTS = {
    "sender_poll_seconds": 0.1,
    "sender_backoff_seconds": 0.1,
    "sender_backoff_max_seconds": 0.5,
    "quiet_hours_start": "00:00",
    "quiet_hours_end": "00:00",  # no quiet hours unless a test sets them
    "reminder_offsets_seconds": [3600],
    "reminder_before_close_seconds": 0,
}


@asynccontextmanager
async def notify(
    infra: Infra, database: str, sinks: Sinks, *, group: str | None = None, **overrides: Any
) -> AsyncIterator[Runtime]:
    """Notify sending to the sinks, in a consumer group of its own (from the topics' end
    unless `group` is given), with no quiet hours and one far reminder unless overridden."""
    settings: dict[str, Any] = {
        **DEFAULTS,
        "smtp_port": sinks.smtp_port,
        "sms_gateway_url": f"{sinks.http_url}/sms",
        **overrides,
    }
    suffix = group or await new_group(infra.bootstrap, "notify")
    async with service(build, NotifySettings, infra, database, group=suffix, **settings) as up:
        yield up


async def end_offsets(bootstrap: str) -> dict[TopicPartition, int]:
    """Where each partition notify consumes ends now."""
    return await kafka.end_offsets(bootstrap, [t.name for t in consumed_by("notify")])


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
    return events.placed(
        events.line("TEE-RED-M", 1, 7900, name="Cotton T-shirt", variant="Red / M"),
        method=PaymentMethod.WALLET,
        contact=contact or contact_for(order_id),
        address=Address(
            recipient="Li Wei", line1="88 Century Avenue", city="Shanghai", country="CN"
        ),
        locale=Locale(locale),
        time_zone=time_zone,
        customer_id=customer_id,
        due_in=due_in,
        order_url=f"https://shop.example/orders/{order_id}?token=t-{order_id}",
    )


def paid() -> OrderPaid:
    return events.paid(7900, PaymentMethod.WALLET)


def shipped(
    placed: OrderPlaced, order_id: str, courier: str = "SF Express", tracking: str = "SF42"
) -> ShipmentShipped:
    return ShipmentShipped(
        shipment_id=f"shp_{order_id}",
        courier=courier,
        tracking_number=tracking,
        lines=placed.lines,
        address=placed.address,
        shipped_at=datetime.now(UTC),
    )


async def received(sinks: Sinks, contact: Contact, count: int, timeout: float = 30) -> list[Any]:
    """Waits until the sinks hold `count` messages for this contact; returns them."""

    async def probe() -> list[Any]:
        found = sinks.store.messages(to=contact.email) + sinks.store.messages(to=contact.phone)
        return found if len(found) >= count else []

    return await eventually(probe, timeout=timeout, what=f"{count} messages in the sinks")
