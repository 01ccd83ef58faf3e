"""The decoder names why a message is poison."""

from __future__ import annotations

import pytest

from shared.contracts.envelope import Envelope
from shared.contracts.events.order import OrderClosed
from shared.messages import Poison, RawMessage, decode


def raw(value: bytes | None, topic: str = "orders.v1") -> RawMessage:
    return RawMessage(topic, 0, 7, b"k", value)


def good() -> bytes:
    return Envelope.wrap(OrderClosed(), producer="order", order_id="ord_1").to_bytes()


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "undecodable"),
        (b"\xff\x00", "undecodable"),
        (b'{"event_id": "not-a-uuid"}', "undecodable"),
        (good().replace(b'"OrderClosed"', b'"OrderTeleported"'), "unknown_event_type"),
        (
            good().replace(b'"schema_version":1', b'"schema_version":2'),
            "unsupported_schema_version",
        ),
        (good().replace(b'"payment_window_expired"', b'"teleported"'), "invalid_payload"),
    ],
)
def test_poison_reasons(value: bytes | None, reason: str) -> None:
    with pytest.raises(Poison) as caught:
        decode(raw(value))
    assert caught.value.reason == reason


def test_an_event_on_a_topic_that_does_not_declare_it_is_poison() -> None:
    with pytest.raises(Poison) as caught:
        decode(raw(good(), topic="payments.v1"))
    assert caught.value.reason == "wrong_topic"


def test_a_good_message_decodes_to_its_typed_payload() -> None:
    incoming = decode(raw(good()))
    assert isinstance(incoming.payload, OrderClosed)
    assert incoming.order_id == "ord_1"
    assert incoming.raw.position == "orders.v1:0:7"
