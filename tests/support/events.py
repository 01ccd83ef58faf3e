"""Other services' events as they publish them, fresh ids, and what a service published.

A test plays a service's neighbours: it builds their events (`placed`, `paid`), sends them
as their one producing service would (`send`), and reads what the service under test
published in answer (`published`, `seen`, `payload`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.contracts.envelope import Envelope, Event, Money
from shared.contracts.events.common import Address, Contact, Locale, OrderLine, PaymentMethod
from shared.contracts.events.order import OrderPaid, OrderPlaced
from shared.contracts.registry import topic_for_event
from shared.messages import RawMessage
from shared.runtime import Runtime
from tests.support.infra import Infra
from tests.support.kafka import Record, TopicTail, publish

Matcher = Callable[[Record], bool]


def new_id(prefix: str = "ord") -> str:
    """A fresh id, so a test never meets another test's (or an earlier run's) data."""
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def new_order_id() -> str:
    return new_id("ord")


def now() -> datetime:
    return datetime.now(UTC)


def bootstrap_of(broker: Infra | Runtime) -> str:
    return broker.bootstrap if isinstance(broker, Infra) else broker.settings.kafka_bootstrap


def wrap(event: Event, order_id: str) -> Envelope:
    """The event in its envelope, from the service the registry names as its producer."""
    producer = topic_for_event(event.TYPE).producer
    return Envelope.wrap(event, producer=producer, order_id=order_id)


async def send(broker: Infra | Runtime, event: Event, order_id: str) -> Envelope:
    """Publishes `event` about the order as its producing service would; returns it."""
    envelope = wrap(event, order_id)
    await publish(bootstrap_of(broker), envelope)
    return envelope


async def send_all(broker: Infra | Runtime, order_id: str, *events: Event) -> list[Envelope]:
    """Publishes `events` about the order, in order."""
    return [await send(broker, event, order_id) for event in events]


async def resend(broker: Infra | Runtime, *envelopes: Envelope) -> None:
    """These very messages (again), as a first delivery or a redelivery brings them."""
    for envelope in envelopes:
        await publish(bootstrap_of(broker), envelope)


def raw(envelope: Envelope, offset: int) -> RawMessage:
    """The envelope as a consumer reads it off partition 0 at `offset`."""
    topic = topic_for_event(envelope.type).name
    key = (envelope.order_id or "").encode()
    return RawMessage(topic, 0, offset, key, envelope.to_bytes())


def of(order_id: str, *types: str, topic: str | None = None) -> Matcher:
    """Predicate: a record about this order (of these types, on this topic, when given)."""

    def match(record: Record) -> bool:
        return (
            record.key == order_id.encode()
            and (not types or record.type in types)
            and (topic is None or record.topic == topic)
        )

    return match


def seen(tail: TopicTail, order_id: str, *types: str, topic: str | None = None) -> list[Record]:
    """What the tail has read so far about the order (of these types)."""
    return [r for r in tail.records if of(order_id, *types, topic=topic)(r)]


async def published(
    tail: TopicTail, order_id: str, event_type: str, *, count: int = 1, timeout: float = 20
) -> list[Record]:
    """Waits until `count` records of the type about the order are on the broker."""
    return await tail.wait_for(of(order_id, event_type), count=count, timeout=timeout)


async def payloads(
    tail: TopicTail, order_id: str, event_type: str, *, count: int = 1, timeout: float = 20
) -> list[dict[str, Any]]:
    """The payloads of what `published` waits for."""
    return [
        payload(r)
        for r in await published(tail, order_id, event_type, count=count, timeout=timeout)
    ]


def payload(record: Record) -> dict[str, Any]:
    return dict(record.json()["payload"])


def line(
    sku: str = "TEA-1",
    quantity: int = 1,
    unit_price: int = 12_900,
    *,
    line_id: str = "l1",
    name: str = "Tea",
    variant: str | None = None,
) -> OrderLine:
    price = Money(amount=unit_price, currency="CNY")
    return OrderLine(
        line_id=line_id, sku=sku, name=name, variant=variant, quantity=quantity, unit_price=price
    )


SHANGHAI = Address(recipient="Li Wei", line1="1 Nanjing Rd", city="Shanghai", country="CN")


def placed(
    *lines: OrderLine,
    method: PaymentMethod = PaymentMethod.CARD,
    contact: Contact | None = None,
    address: Address = SHANGHAI,
    locale: Locale = Locale.ZH_CN,
    time_zone: str = "Asia/Shanghai",
    customer_id: str | None = None,
    due_in: float | None = None,
    order_url: str = "https://shop.example/orders/x",
) -> OrderPlaced:
    """An order as the order service tells it, its total the sum of its lines."""
    chosen = lines or (line(),)
    total = sum(item.unit_price.amount * item.quantity for item in chosen)
    return OrderPlaced(
        customer_id=customer_id,
        lines=chosen,
        total=Money(amount=total, currency="CNY"),
        contact=contact or Contact(email="li.wei@example.com"),
        address=address,
        locale=locale,
        time_zone=time_zone,
        payment_method=method,
        payment_due_at=None if due_in is None else now() + timedelta(seconds=due_in),
        order_url=order_url,
    )


def paid(amount: int, method: PaymentMethod = PaymentMethod.CARD) -> OrderPaid:
    return OrderPaid(
        amount=Money(amount=amount, currency="CNY"), payment_method=method, paid_at=now()
    )
