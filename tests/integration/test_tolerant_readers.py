"""Other teams' view of our topics: what a newer minor version adds is read, not dead-lettered,
and what the relay publishes is a CloudEvent that the `cloudevents` SDK reads on its own."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
from cloudevents.core.bindings.kafka import KafkaMessage, from_binary
from cloudevents.core.formats.json import JSONFormat

from services.payment.app import build
from services.payment.settings import PaymentSettings
from shared.contracts.events.order import OrderCompleted, OrderPlaced
from shared.contracts.events.payment import PaymentRequested
from shared.messages import Handlers, Incoming
from shared.unit import Unit
from tests.support.events import new_order_id, placed, resend, wrap
from tests.support.infra import Infra
from tests.support.kafka import TopicTail, publish_raw
from tests.support.polling import eventually
from tests.support.samples import sample_event
from tests.support.services import running, settings_for

SEEN = "CREATE TABLE IF NOT EXISTS test_seen (order_id TEXT, event_id TEXT, city TEXT)"


async def record_city(unit: Unit, msg: Incoming[Any]) -> None:
    await unit.conn.execute(
        "INSERT INTO test_seen VALUES ($1, $2, $3)",
        msg.order_id,
        str(msg.envelope.event_id),
        msg.payload.address.city,
    )


async def request_payment(unit: Unit, msg: Incoming[Any]) -> None:
    await unit.emit(sample_event(PaymentRequested), order_id=msg.order_id)


async def payment_with(handlers: Handlers, infra: Infra, dsn: str) -> Any:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(SEEN)
    finally:
        await conn.close()
    definition = build(settings_for(PaymentSettings, infra.bootstrap, dsn))
    definition.handlers = handlers
    return definition


async def seen(runtime: Any, order_id: str) -> list[tuple[str, str]]:
    async with runtime.db.acquire() as conn:
        rows = await conn.fetch(
            "SELECT event_id, city FROM test_seen WHERE order_id = $1", order_id
        )
    return [(r["event_id"], r["city"]) for r in rows]


def from_a_newer_minor_version(value: bytes) -> bytes:
    """The envelope as a producer one minor version ahead writes it: a minor number, an
    envelope field and payload fields (at the top and inside a value) this reader lacks."""
    envelope = json.loads(value)
    envelope["schema_minor"] = 3
    envelope["traceparent"] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    envelope["payload"]["loyalty_points"] = 120
    envelope["payload"]["address"]["district"] = "Huangpu"
    return json.dumps(envelope).encode()


async def test_an_event_with_fields_a_newer_minor_version_added_is_handled_not_dead_lettered(
    infra: Infra, database: str
) -> None:
    order_id = new_order_id()
    definition = await payment_with({OrderPlaced: record_city}, infra, database)
    async with running(definition, http=False) as runtime:
        newer = wrap(placed(), order_id)
        value = from_a_newer_minor_version(newer.to_bytes())
        await publish_raw(infra.bootstrap, "orders.v1", value, key=order_id.encode())
        handled = await eventually(lambda: seen(runtime, order_id), what="the newer event")
        async with runtime.db.acquire() as conn:
            letters = await conn.fetchval("SELECT count(*) FROM dead_letters")
    assert handled == [(str(newer.event_id), "Shanghai")]
    assert letters == 0, "nothing was set aside"


async def test_a_relayed_event_reads_as_a_cloudevent_with_the_sdk(
    infra: Infra, database: str, tail: TopicTail
) -> None:
    order_id = new_order_id()
    definition = await payment_with({OrderCompleted: request_payment}, infra, database)
    async with running(definition, http=False):
        await resend(infra, wrap(OrderCompleted(confirmed_by="auto"), order_id))
        [record] = await tail.wait_for(
            lambda r: r.topic == "payments.v1" and r.key == order_id.encode()
        )
    assert record.value is not None
    message = KafkaMessage(headers=record.headers, key=record.key, value=record.value)
    event = from_binary(message, JSONFormat())
    envelope = record.json()
    assert event.get_specversion() == "1.0"
    assert event.get_id() == envelope["event_id"] == record.headers["event_id"].decode()
    assert event.get_type() == "fulfil.payment.PaymentRequested.v1"
    assert event.get_source() == "/fulfil/payment"
    assert event.get_subject() == order_id
    assert event.get_datacontenttype() == "application/json"
    time = event.get_time()
    assert time is not None and time.isoformat().replace("+00:00", "Z") == envelope["occurred_at"]
    assert event.get_data() == envelope
    assert event.get_data()["payload"] == sample_event(PaymentRequested).model_dump(mode="json")
