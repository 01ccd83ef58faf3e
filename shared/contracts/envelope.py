"""The event envelope every message on a lifecycle topic travels in.

JSON on the wire. `type`, `schema_version` and `event_id` are repeated as Kafka
headers so tools can route without parsing the body, and the CloudEvents Kafka binding's
attributes (binary content mode) are carried as `ce_*` headers, so a CloudEvents SDK
reads our records as events whose data is this envelope.

Strict writers, tolerant readers (docs/events.md): the models forbid fields they do not
declare, so a producer emits exactly its model; a consumer reads with `Envelope.read` and
`Event.read`, which ignore fields (in the envelope, the payload and every value inside it)
that a newer minor version of the contract added.
"""

from __future__ import annotations

import types
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar, Self, TypeVar, cast

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
    """The major version: a reader dispatches on (TYPE, VERSION); a breaking change is a new one."""
    MINOR: ClassVar[int] = 0
    """Raised with each compatible change (an optional field added); readers never depend on
    it, the published schema and the envelope's `schema_minor` tell it."""
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

    @classmethod
    def read(cls, payload: Mapping[str, Any]) -> Self:
        """The payload as a tolerant reader takes it: fields this model does not declare
        (here or in a value it carries) are ignored, never an error."""
        return cls.model_validate(payload, extra="ignore")


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
        "MINOR": 0,
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
    schema_minor: int = Field(default=0, ge=0, exclude_if=lambda minor: minor == 0)
    """The payload's minor version; left off the wire while it is 0 (every event so far)."""
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
            schema_minor=event.MINOR,
            occurred_at=occurred_at or utcnow(),
            order_id=order_id,
            correlation_id=correlation_id or str(event_id),
            causation_id=causation_id,
            producer=producer,
            payload=event.model_dump(mode="json"),
        )

    @classmethod
    def read(cls, raw: bytes | str) -> Envelope:
        """An envelope off the wire, as a tolerant reader takes it: fields a newer minor
        version added are ignored (the payload stays as sent, for `Event.read`)."""
        return cls.model_validate_json(raw, extra="ignore")

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @property
    def cloudevents_type(self) -> str:
        """`ce_type`: the fact, its producer and its major version."""
        return cloudevents_type(self.producer, self.type, self.schema_version)

    def headers(self) -> list[tuple[str, bytes]]:
        event_id = str(self.event_id).encode()
        headers = [
            ("event_id", event_id),
            ("type", self.type.encode()),
            ("schema_version", str(self.schema_version).encode()),
            ("ce_specversion", b"1.0"),
            ("ce_id", event_id),
            ("ce_type", self.cloudevents_type.encode()),
            ("ce_dataschema", event_schema_id(self.type, self.schema_version).encode()),
            ("ce_source", cloudevents_source(self.producer).encode()),
            ("ce_time", _rfc3339(self.occurred_at).encode()),
        ]
        if self.order_id is not None:
            headers.append(("ce_subject", self.order_id.encode()))
        headers.append(("content-type", b"application/json"))
        return headers


def cloudevents_type(producer: str, event_type: str, version: int) -> str:
    return f"fulfil.{producer}.{event_type}.v{version}"


def event_schema_id(event_type: str, version: int) -> str:
    """`ce_dataschema`: the `$id` of the payload's published JSON Schema
    (docs/schemas/<type>.v<version>.json, served at GET /schemas/<type>/<version>)."""
    return f"urn:fulfil:event:{event_type}:v{version}"


def cloudevents_source(producer: str) -> str:
    return f"/fulfil/{producer}"


def _rfc3339(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")
