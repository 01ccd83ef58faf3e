"""The topic registry's rules, and every event model's round trip through the envelope."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import BaseModel

from shared.contracts.envelope import Envelope, Event, event_types
from shared.contracts.registry import SERVICES, TOPICS, consumed_by, topic_for_event
from shared.messages import RawMessage, decode
from tests.support.samples import sample_event

BUILDERS = {}
for _name in SERVICES:
    BUILDERS[_name] = __import__(f"services.{_name}.app", fromlist=["build"]).build


def test_topic_names_are_unique_and_versioned() -> None:
    names = [t.name for t in TOPICS]
    assert len(names) == len(set(names))
    assert all(re.search(r"\.v\d+$", n) for n in names), names


def test_each_topic_has_one_known_writer_and_known_readers() -> None:
    for topic in TOPICS:
        assert topic.producer in SERVICES, topic
        assert set(topic.consumers) <= set(SERVICES), topic
        assert topic.producer not in topic.consumers, f"{topic.name} reads its own writes"


def test_each_event_type_is_published_on_exactly_one_topic() -> None:
    seen: dict[str, str] = {}
    for topic in TOPICS:
        for event in topic.events:
            assert event.TYPE not in seen, f"{event.TYPE} on {seen[event.TYPE]} and {topic.name}"
            seen[event.TYPE] = topic.name
    declared = {t for (t, _v) in event_types()}
    assert declared == set(seen), f"declared but on no topic: {declared - set(seen)}"


def test_every_topic_has_a_dead_letter_topic_for_each_consumer() -> None:
    names = {t.name for t in TOPICS}
    for service in SERVICES:
        if consumed_by(service):
            assert f"deadletter.{service}.v1" in names


@pytest.mark.parametrize("service", SERVICES)
def test_every_handled_event_type_is_declared_on_a_topic_the_service_consumes(
    service: str,
) -> None:
    definition = BUILDERS[service]()
    consumed = {e for t in consumed_by(service) for e in t.events}
    unknown = {m.TYPE for m in definition.handlers} - {m.TYPE for m in consumed}
    assert not unknown, f"{service} handles {unknown} but consumes no topic declaring them"


@pytest.mark.parametrize("service", SERVICES)
def test_a_renamed_event_is_handled_under_both_names_while_the_old_one_is_on_the_topics(
    service: str,
) -> None:
    """A retired model stays readable: whoever handles its successor handles it too (what
    was published before the rename is still on the topics), with the same handler."""
    handlers = BUILDERS[service]().handlers
    for model in event_types().values():
        if not model.RETIRED:
            continue
        successor = model.__mro__[1]
        assert issubclass(successor, Event) and not successor.RETIRED
        if successor in handlers or model in handlers:
            assert handlers.get(model) is handlers.get(successor), (
                f"{service} must handle {model.TYPE} v{model.VERSION} as {successor.TYPE}"
            )


def test_a_retired_event_is_never_written_again() -> None:
    retired = [m for m in event_types().values() if m.RETIRED]
    assert {m.TYPE for m in retired} == {"StockShortage", "ShipmentOutForDelivery", "LowStock"}
    for model in retired:
        assert model.VERSION < model.__mro__[1].VERSION
        assert topic_for_event(model.TYPE) is topic_for_event(model.__mro__[1].TYPE)


@pytest.mark.parametrize(
    "model", sorted(event_types().values(), key=lambda m: m.TYPE), ids=lambda m: m.TYPE
)
def test_event_round_trips_through_the_envelope_and_the_decoder(model: type[Event]) -> None:
    event = sample_event(model)
    topic = topic_for_event(model.TYPE)
    envelope = Envelope.wrap(event, producer=topic.producer, order_id="ord_rt", correlation_id="c1")
    raw = RawMessage(topic.name, 0, 0, b"k", envelope.to_bytes(), tuple(envelope.headers()))
    incoming = decode(raw)
    assert incoming.payload == event
    assert incoming.envelope == envelope
    assert incoming.envelope.occurred_at.tzinfo is not None


def test_envelope_times_are_utc() -> None:
    from zoneinfo import ZoneInfo

    local = datetime(2026, 11, 11, 20, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    env = Envelope.wrap(
        sample_event(event_types()[("OrderClosed", 1)]),
        producer="order",
        order_id="o",
        occurred_at=local,
    )
    assert env.occurred_at == local and env.occurred_at.tzinfo == UTC


def _fields(model: type[BaseModel]) -> dict[str, Any]:
    return dict(model.model_fields)


def test_money_is_integer_minor_units_everywhere() -> None:
    from shared.contracts.envelope import Money

    for model in event_types().values():
        for name, info in _fields(model).items():
            if "amount" in name or "price" in name or name == "total":
                assert info.annotation in (Money, Money | None), f"{model.TYPE}.{name}"


HAPPY_PATH = ("OrderPlaced", "OrderPaid", "PaymentSucceeded", "StockReserved", "ShipmentShipped",
              "ShipmentDelivered", "OrderCompleted")  # fmt: skip


def test_every_topic_says_whether_every_order_carries_events_on_it() -> None:
    for topic in TOPICS:
        assert isinstance(topic.per_order, bool), topic.name
    hot = {t.name for t in TOPICS if t.per_order}
    assert hot == {topic_for_event(t).name for t in HAPPY_PATH}
    assert not topic_for_event("RefundRequested").per_order, "refunds are a fraction of orders"
