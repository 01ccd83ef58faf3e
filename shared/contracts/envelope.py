"""The event envelope every message on a lifecycle topic travels in.

JSON on the wire. `type`, `schema_version` and `event_id` are repeated as Kafka
headers so tools can route without parsing the body.
"""

from __future__ import annotations

import types
import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar, cast

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

CURRENCIES = frozenset({"CNY", "HKD", "TWD", "USD", "EUR", "GBP", "JPY", "SGD"})


class Money(BaseModel):
    """An amount in integer minor units (fen, cents) with its ISO 4217 currency."""

    model_config = ConfigDict(frozen=True)

    amount: int = Field(ge=0)
    currency: str

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        if value not in CURRENCIES:
            raise ValueError(f"unknown currency {value!r}; expected one of {sorted(CURRENCIES)}")
        return value


class Event(BaseModel):
    """Base of every event payload: a fact in the past tense, versioned."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    TYPE: ClassVar[str]
    VERSION: ClassVar[int] = 1
    RETIRED: ClassVar[bool] = False
    """A retired model is still read (what is on the topics stays readable for as long as
    they keep it) but never written: its successor is."""

    _registry: ClassVar[dict[tuple[str, int], type[Event]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "TYPE" in cls.__dict__:
            key = (cls.TYPE, cls.VERSION)
            if key in Event._registry:
                raise TypeError(f"event {key} declared twice")
            Event._registry[key] = cls


E = TypeVar("E", bound=Event)


def retired_v1(successor: type[E], name: str) -> type[E]:
    """Declares `name`, version 1 of the fact `successor` publishes now under a past-tense
    name: it reads what is still on the topic and is never written."""
    namespace = {
        "__module__": successor.__module__,
        "__qualname__": name,
        "__doc__": f"Retired: read from what is still on the topic, never written "
        f"(see {successor.__name__}).",
        "TYPE": name,
        "VERSION": 1,
        "RETIRED": True,
    }
    retired = types.new_class(name, (successor,), exec_body=lambda ns: ns.update(namespace))
    return cast("type[E]", retired)


def event_types() -> dict[tuple[str, int], type[Event]]:
    """Every declared event model, by (type, schema version)."""
    import shared.contracts.events  # noqa: F401  (declares the models)

    return dict(Event._registry)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Envelope(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: uuid.UUID
    type: str
    schema_version: int = Field(ge=1)
    occurred_at: AwareDatetime
    order_id: str | None = None
    correlation_id: str
    causation_id: str | None = None
    producer: str
    payload: dict[str, Any]

    @field_validator("occurred_at")
    @classmethod
    def _as_utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)

    @classmethod
    def wrap(
        cls,
        event: Event,
        *,
        producer: str,
        order_id: str | None,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        occurred_at: datetime | None = None,
    ) -> Envelope:
        event_id = uuid.uuid4()
        return cls(
            event_id=event_id,
            type=event.TYPE,
            schema_version=event.VERSION,
            occurred_at=occurred_at or utcnow(),
            order_id=order_id,
            correlation_id=correlation_id or str(event_id),
            causation_id=causation_id,
            producer=producer,
            payload=event.model_dump(mode="json"),
        )

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    def headers(self) -> list[tuple[str, bytes]]:
        return [
            ("event_id", str(self.event_id).encode()),
            ("type", self.type.encode()),
            ("schema_version", str(self.schema_version).encode()),
        ]
