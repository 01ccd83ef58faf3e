"""The headers alone settle only one case: a model declared on the topic that the service
does not handle. Everything else is decoded in full, so poison keeps its reason."""

from __future__ import annotations

from typing import Any

import pytest

from shared.consumer import MessageProcessor
from shared.contracts.events.order import OrderClosed, OrderCompleted
from shared.messages import Incoming, RawMessage
from shared.unit import Unit, Units


async def handle(_unit: Unit[Any], _msg: Incoming[Any]) -> None:
    return None


def processor() -> MessageProcessor:
    no_database: Any = None  # these decisions never use it
    return MessageProcessor("probe", no_database, {OrderClosed: handle}, Units("probe", None))


def message(*headers: tuple[str, bytes], topic: str = "orders.v1") -> RawMessage:
    return RawMessage(topic, 0, 1, b"k", b"\x00 not an envelope", headers)


def test_a_declared_model_the_service_does_not_handle_is_ignored_from_its_headers() -> None:
    raw = message(("type", b"OrderCompleted"), ("schema_version", b"1"))
    assert processor().ignored_by_headers(raw) == OrderCompleted.TYPE


@pytest.mark.parametrize(
    "headers",
    [
        (),  # no headers: decoded in full
        (("type", b"OrderCompleted"),),  # no version
        (("type", b"OrderClosed"), ("schema_version", b"1")),  # handled
        (("type", b"OrderVanished"), ("schema_version", b"1")),  # unknown type
        (("type", b"OrderCompleted"), ("schema_version", b"9")),  # unsupported version
        (("type", b"OrderCompleted"), ("schema_version", b"one")),  # unreadable version
        (("type", b"\xff\xfe"), ("schema_version", b"1")),  # unreadable type
        (("type", b"PaymentSucceeded"), ("schema_version", b"1")),  # not on this topic
    ],
)
def test_anything_else_is_left_to_the_full_decode(headers: tuple[tuple[str, bytes], ...]) -> None:
    assert processor().ignored_by_headers(message(*headers)) is None


async def test_an_ignored_message_is_counted_without_a_database() -> None:
    raw = message(("type", b"OrderCompleted"), ("schema_version", b"1"))
    assert await processor().process(raw) == "ignored"
