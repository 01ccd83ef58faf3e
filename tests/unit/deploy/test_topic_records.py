"""The topic tap reads a record's type from its header and decodes only the bodies asked for."""

from __future__ import annotations

import json

from deploy.demo.topics import Record

BODY = {
    "event_id": "0190c0de-0000-7000-8000-000000000001",
    "type": "OrderPlaced",
    "schema_version": 1,
    "occurred_at": "2026-12-02T03:31:29.123456+00:00",
    "order_id": "ord_1",
    "payload": {"total": 7900},
}


def headers(kind: str, event_id: str = BODY["event_id"]) -> list[tuple[str, bytes]]:
    return [("event_id", event_id.encode()), ("type", kind.encode()), ("schema_version", b"1")]


def test_a_type_not_asked_for_is_counted_from_its_headers_and_never_decoded() -> None:
    value = b"not json at all: decoding it would give an empty body"

    record = Record.from_kafka("shipments.v1", value, headers("CheckpointReached"), 7, {"X"})

    assert record.type == "CheckpointReached"
    assert record.event_id == BODY["event_id"]
    assert (record.order_id, record.occurred_at, record.payload) == (None, None, {})
    assert (record.topic, record.size, record.timestamp_ms) == ("shipments.v1", len(value), 7)


def test_a_type_asked_for_reads_as_a_full_parse_does() -> None:
    value = json.dumps(BODY).encode()

    record = Record.from_kafka("orders.v1", value, headers("OrderPlaced"), 7, {"OrderPlaced"})

    assert record == Record.parse("orders.v1", value, 7)
    assert record.order_id == "ord_1"
    assert record.occurred_at is not None


def test_without_a_type_header_the_body_is_read() -> None:
    value = json.dumps(BODY).encode()

    record = Record.from_kafka("orders.v1", value, [], 7, {"OrderPaid"})

    assert record == Record.parse("orders.v1", value, 7)


def test_a_dead_letter_is_never_taken_for_the_event_it_holds() -> None:
    value = json.dumps(BODY).encode()

    record = Record.from_kafka(
        "deadletter.order.v1", value, headers("OrderPlaced"), 7, {"OrderPlaced"}
    )

    assert record.type == "DeadLetter"
    assert record.occurred_at is None


def test_without_a_choice_every_body_is_decoded() -> None:
    value = json.dumps(BODY).encode()

    record = Record.from_kafka("orders.v1", value, headers("OrderPlaced"), 7, None)

    assert record == Record.parse("orders.v1", value, 7)
