"""Strict writers, tolerant readers, and the CloudEvents attributes every record carries."""

from __future__ import annotations

import json
from typing import Any, ClassVar

import pytest
from cloudevents.core.bindings.kafka import KafkaMessage, from_binary
from cloudevents.core.formats.json import JSONFormat
from pydantic import ValidationError

from shared.contracts.envelope import Envelope, Event
from shared.contracts.events.logistics import LowStock, StockRanLow
from shared.contracts.events.order import OrderClosed, OrderPlaced
from shared.contracts.registry import topic_for_event
from shared.contracts.schemas import event_schema
from shared.messages import RawMessage, decode
from tests.support.events import placed
from tests.support.samples import sample_event


def test_a_writer_cannot_add_a_field_its_model_does_not_declare() -> None:
    fields: dict[str, Any] = placed().model_dump()
    with pytest.raises(ValidationError, match="loyalty_points"):
        OrderPlaced(**fields, loyalty_points=1)
    with pytest.raises(ValidationError, match="traceparent"):
        Envelope(
            **Envelope.wrap(placed(), producer="order", order_id="o").model_dump(), traceparent="t"
        )


def test_a_reader_ignores_fields_it_does_not_know_in_the_envelope_payload_and_values() -> None:
    envelope = Envelope.wrap(placed(), producer="order", order_id="ord_newer")
    newer = json.loads(envelope.to_bytes())
    newer |= {"schema_minor": 2, "traceparent": "00-abc-def-01"}
    newer["payload"]["loyalty_points"] = 10
    newer["payload"]["lines"][0]["colour"] = "green"
    raw = RawMessage("orders.v1", 0, 0, b"ord_newer", json.dumps(newer).encode())
    incoming = decode(raw)
    assert incoming.payload == placed()
    assert incoming.envelope.schema_minor == 2
    assert incoming.envelope.event_id == envelope.event_id


def test_minor_version_zero_leaves_the_bytes_on_the_wire_as_they_were() -> None:
    envelope = Envelope.wrap(OrderClosed(), producer="order", order_id="o")
    assert b"schema_minor" not in envelope.to_bytes()
    assert list(json.loads(envelope.to_bytes()))[:3] == ["event_id", "type", "schema_version"]


def test_a_minor_version_above_zero_is_written_and_read_back() -> None:
    class Later(Event):
        TYPE = "TestOnlyLaterMinor"
        MINOR: ClassVar[int] = 4

    try:
        envelope = Envelope.wrap(Later(), producer="order", order_id="o")
        assert json.loads(envelope.to_bytes())["schema_minor"] == 4
        assert Envelope.read(envelope.to_bytes()) == envelope
    finally:
        Event._registry.pop(("TestOnlyLaterMinor", 1))


def test_a_retired_name_is_minor_zero_of_version_one() -> None:
    assert (LowStock.VERSION, LowStock.MINOR, LowStock.RETIRED) == (1, 0, True)
    assert not StockRanLow.RETIRED


@pytest.mark.parametrize("order_id", ["ord_ce", None])
def test_the_cloudevents_sdk_reads_an_envelope_from_its_headers_and_bytes(
    order_id: str | None,
) -> None:
    event = sample_event(StockRanLow) if order_id is None else placed()
    producer = topic_for_event(event.TYPE).producer
    envelope = Envelope.wrap(event, producer=producer, order_id=order_id)
    message = KafkaMessage(headers=dict(envelope.headers()), key=b"k", value=envelope.to_bytes())
    cloudevent = from_binary(message, JSONFormat())
    assert cloudevent.get_id() == str(envelope.event_id)
    assert cloudevent.get_type() == f"fulfil.{producer}.{event.TYPE}.v{event.VERSION}"
    assert cloudevent.get_source() == f"/fulfil/{producer}"
    assert cloudevent.get_subject() == order_id
    assert cloudevent.get_time() == envelope.occurred_at
    assert cloudevent.get_datacontenttype() == "application/json"
    assert cloudevent.get_dataschema() == event_schema(type(event))["$id"]
    assert cloudevent.get_data() == json.loads(envelope.to_bytes())
    names = [name for name, _ in envelope.headers()]
    assert names[:3] == ["event_id", "type", "schema_version"], "the routing headers stay first"
