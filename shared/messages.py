"""What a consumed record is and how it decodes: the raw record as read, the envelope
and payload it decodes to (or the poison it is), the routing table's types, and the log
context and spans a record carries through its handling (shared.consumer handles them).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import structlog
from opentelemetry.trace import Tracer
from pydantic import ValidationError

from shared import tracing
from shared.contracts.envelope import Envelope, Event, event_types
from shared.contracts.registry import topic
from shared.unit import Unit

E = TypeVar("E", bound=Event)


@dataclass(frozen=True)
class RawMessage:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()

    @property
    def position(self) -> str:
        return f"{self.topic}:{self.partition}:{self.offset}"


@dataclass(frozen=True)
class Incoming(Generic[E]):
    envelope: Envelope
    payload: E
    raw: RawMessage

    @property
    def order_id(self) -> str:
        if self.envelope.order_id is None:
            raise ValueError(f"{self.envelope.type} carries no order_id")
        return self.envelope.order_id


Handler = Callable[[Unit[Any], Incoming[Any]], Awaitable[None]]
Handlers = Mapping[type[Event], Handler]
"""A service's routing table: the event model (one per type and schema version) to its
handler. A model the table does not name is ignored (counted, never an error)."""


class Poison(Exception):
    def __init__(self, reason: str, detail: str, envelope: Envelope | None = None) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.envelope = envelope


def decode(raw: RawMessage) -> Incoming[Event]:
    if not raw.value:
        raise Poison("undecodable", "empty message value")
    try:
        envelope = Envelope.read(raw.value)
    except ValidationError as exc:
        raise Poison("undecodable", _short(exc)) from exc
    known = event_types()
    model = known.get((envelope.type, envelope.schema_version))
    if model is None:
        versions = sorted(v for (t, v) in known if t == envelope.type)
        if versions:
            raise Poison(
                "unsupported_schema_version",
                f"{envelope.type} v{envelope.schema_version}; supported: {versions}",
                envelope,
            )
        raise Poison("unknown_event_type", f"{envelope.type!r} is not a declared event", envelope)
    if model not in topic(raw.topic).events:
        raise Poison("wrong_topic", f"{envelope.type} is not declared on {raw.topic}", envelope)
    try:
        payload = model.read(envelope.payload)
    except ValidationError as exc:
        raise Poison("invalid_payload", _short(exc), envelope) from exc
    return Incoming(envelope, payload, raw)


def log_context(envelope: Envelope) -> Any:
    """Log lines about a message carry its ids."""
    return structlog.contextvars.bound_contextvars(
        event_id=str(envelope.event_id),
        event_type=envelope.type,
        order_id=envelope.order_id,
        correlation_id=envelope.correlation_id,
    )


def record_span(traced: Tracer, incoming: Incoming[Event], batch: int) -> Any:
    raw, envelope = incoming.raw, incoming.envelope
    return tracing.consumer_span(
        traced,
        raw.topic,
        raw.partition,
        raw.offset,
        raw.headers,
        {
            "messaging.message.id": str(envelope.event_id),
            "db.system": "postgresql",  # the handler's SQL runs in it
            "fulfil.transaction.messages": batch,  # how many records share its transaction
            tracing.EVENT_TYPE: envelope.type,
            **({tracing.ORDER_ID: envelope.order_id} if envelope.order_id else {}),
        },
    )


def poison_span(traced: Tracer, raw: RawMessage, poison: Poison) -> Any:
    """A record set aside before any handler saw it: an error span with the reason."""
    envelope = poison.envelope
    order = {tracing.ORDER_ID: envelope.order_id} if envelope and envelope.order_id else {}
    return tracing.consumer_span(
        traced,
        raw.topic,
        raw.partition,
        raw.offset,
        raw.headers,
        {"fulfil.outcome": "dead_lettered", "fulfil.dead_letter.reason": poison.reason, **order},
        error=f"{poison.reason}: {poison.detail[:200]}",
    )


def inbox_entry(incoming: Incoming[Event]) -> tuple[str, str, int, int, str | None]:
    raw = incoming.raw
    return (
        str(incoming.envelope.event_id),
        raw.topic,
        raw.partition,
        raw.offset,
        incoming.envelope.type,
    )


def _short(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or 'message'}: {err['msg']}"
        for err in exc.errors()[:5]
    )
