"""The AsyncAPI 3.0 document of every topic, generated from the registry and the models.

A channel per topic (its name, key, partitions, retention, producer, consumers and the
messages it carries, retired names included), an operation per writer and per reader,
a message per event type and version (the envelope, its `payload` the event's schema,
the Kafka headers and the key), and the dead-letter topics with their `dlq.*` headers.
"""

from __future__ import annotations

from typing import Any

from shared.contracts.envelope import Event
from shared.contracts.registry import TOPICS, Topic
from shared.contracts.schemas import (
    about,
    envelope_schema,
    event_schema,
    published_models,
    schema_name,
)

KAFKA_BINDING = "0.5.0"
EVENT_HEADERS = "EventHeaders"
DEAD_LETTER_HEADERS = "DeadLetterHeaders"
DEAD_LETTER = "DeadLetter"

_HEADERS: dict[str, tuple[str, str]] = {
    "event_id": ("uuid", "The envelope's event_id."),
    "type": ("", "The envelope's type (routing without parsing the value)."),
    "schema_version": ("", "The envelope's schema_version, in decimal."),
    "ce_specversion": ("", "CloudEvents spec version: 1.0."),
    "ce_id": ("uuid", "CloudEvents id: the event_id."),
    "ce_type": ("", "CloudEvents type: fulfil.<producer>.<Type>.v<N>."),
    "ce_dataschema": (
        "uri",
        "CloudEvents dataschema: the $id of the payload's JSON Schema, "
        "urn:fulfil:event:<Type>:v<N>.",
    ),
    "ce_source": ("", "CloudEvents source: /fulfil/<producer>."),
    "ce_time": ("date-time", "CloudEvents time: occurred_at (RFC 3339, UTC)."),
    "ce_subject": ("", "CloudEvents subject: the order id, when the event has one."),
    "content-type": ("", "CloudEvents datacontenttype: application/json."),
    "traceparent": ("", "W3C Trace Context of the span that published the record, if traced."),
    "tracestate": ("", "W3C Trace Context vendor entries, when the trace has any."),
}
_OPTIONAL_HEADERS = frozenset({"ce_subject", "traceparent", "tracestate"})

_DEAD_LETTER_HEADERS: dict[str, str] = {
    "dlq.reason": "Why: undecodable, unknown_event_type, unsupported_schema_version, "
    "wrong_topic, invalid_payload or handler_failed.",
    "dlq.error": "What failed, at most 2,000 characters.",
    "dlq.consumer": "The service that set the record aside.",
    "dlq.attempts": "How many times it was tried.",
    "dlq.original_topic": "The topic the record was read from.",
    "dlq.original_partition": "Its partition.",
    "dlq.original_offset": "Its offset.",
    "dlq.failed_at": "When it was set aside (ISO 8601, UTC).",
}

_KEYS = {
    "order_id": "The order id (the envelope's order_id): one order's events stay in order.",
    "original": "The original record's key.",
}


def _string(description: str, format: str = "") -> dict[str, Any]:
    return {"type": "string", **({"format": format} if format else {}), "description": description}


def _headers_schemas() -> dict[str, Any]:
    events: dict[str, Any] = {
        "type": "object",
        "description": "Kafka headers of every event record (values are UTF-8 strings).",
        "properties": {name: _string(text, fmt) for name, (fmt, text) in _HEADERS.items()},
        "required": [name for name in _HEADERS if name not in _OPTIONAL_HEADERS],
    }
    events["properties"]["ce_specversion"]["const"] = "1.0"
    events["properties"]["content-type"]["const"] = "application/json"
    letters = {
        "type": "object",
        "description": "The original record's headers, and why it was set aside.",
        "properties": {name: _string(text) for name, text in _DEAD_LETTER_HEADERS.items()},
        "required": list(_DEAD_LETTER_HEADERS),
    }
    return {EVENT_HEADERS: events, DEAD_LETTER_HEADERS: letters}


def _components_schema(schema: dict[str, Any], into: dict[str, Any]) -> dict[str, Any]:
    """The schema with its `$defs` moved into the components (shared value objects once)."""
    body = {k: v for k, v in schema.items() if k not in ("$schema", "$id", "$defs", "x-fulfil")}
    for name, definition in schema.get("$defs", {}).items():
        found = into.setdefault(name, _rebased(definition))
        if found != _rebased(definition):
            raise ValueError(f"two different schemas are named {name}")
    return dict(_rebased(body))


def _rebased(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {
            k: (v.replace("#/$defs/", "#/components/schemas/") if k == "$ref" else _rebased(v))
            for k, v in schema.items()
        }
    if isinstance(schema, list):
        return [_rebased(item) for item in schema]
    return schema


def _key(topic: Topic) -> dict[str, Any]:
    description = _KEYS.get(topic.key, f"The event's {topic.key}.")
    return {"type": "string", "description": description}


def _message(model: type[Event], topic: Topic) -> dict[str, Any]:
    name = schema_name(model)
    facts = about(model)
    message: dict[str, Any] = {
        "name": model.TYPE,
        "title": f"{model.TYPE} v{model.VERSION}",
        "summary": event_schema(model)["description"],
        "contentType": "application/json",
        "headers": {"$ref": f"#/components/schemas/{EVENT_HEADERS}"},
        "payload": {
            "allOf": [
                {"$ref": "#/components/schemas/Envelope"},
                {
                    "type": "object",
                    "properties": {
                        "type": {"const": model.TYPE},
                        "schema_version": {"const": model.VERSION},
                        "payload": {"$ref": f"#/components/schemas/{name}"},
                    },
                },
            ]
        },
        "correlationId": {"location": "$message.payload#/correlation_id"},
        "bindings": {"kafka": {"key": _key(topic), "bindingVersion": KAFKA_BINDING}},
        "x-fulfil": facts,
    }
    if model.RETIRED:
        message["tags"] = [
            {"name": "retired", "description": f"Read only; see {facts['successor']}."}
        ]
    return message


def _dead_letter_message() -> dict[str, Any]:
    return {
        "name": DEAD_LETTER,
        "title": "A record set aside",
        "summary": "The original record's value, byte for byte (it may not be JSON), its key "
        "and headers, with the reason in the dlq.* headers.",
        "contentType": "application/octet-stream",
        "headers": {"$ref": f"#/components/schemas/{DEAD_LETTER_HEADERS}"},
        "payload": {"description": "The original record's value, unchanged."},
        "bindings": {"kafka": {"key": _key_original(), "bindingVersion": KAFKA_BINDING}},
    }


def _key_original() -> dict[str, Any]:
    return {"type": "string", "description": _KEYS["original"]}


def _channel(topic: Topic) -> dict[str, Any]:
    config: dict[str, Any] = {
        "cleanup.policy": ["compact" if topic.compacted else "delete"],
        "retention.ms": topic.retention_ms,
    }
    config.update({k: v for k, v in topic.kafka_config().items() if k not in config})
    if topic.dead_letter:
        messages = {DEAD_LETTER: {"$ref": f"#/components/messages/{DEAD_LETTER}"}}
    else:
        messages = {
            schema_name(m): {"$ref": f"#/components/messages/{schema_name(m)}"}
            for m in topic.events
        }
    return {
        "address": topic.name,
        "description": topic.description,
        "messages": messages,
        "bindings": {
            "kafka": {
                "topic": topic.name,
                "partitions": topic.partitions,
                "topicConfiguration": config,
                "bindingVersion": KAFKA_BINDING,
            }
        },
        "x-fulfil": {
            "producer": topic.producer,
            "consumers": list(topic.consumers),
            "key": topic.key,
            "dead_letter": topic.dead_letter,
        },
    }


def _operations(topic: Topic) -> dict[str, Any]:
    channel = {"$ref": f"#/channels/{topic.name}"}

    def refs(models: list[type[Event]] | None) -> list[dict[str, str]]:
        names = [DEAD_LETTER] if models is None else [schema_name(m) for m in models]
        return [{"$ref": f"#/channels/{topic.name}/messages/{name}"} for name in names]

    written = None if topic.dead_letter else [m for m in topic.events if not m.RETIRED]
    read = None if topic.dead_letter else list(topic.events)
    operations = {
        f"{topic.producer}.sends.{topic.name}": {
            "action": "send",
            "channel": channel,
            "summary": f"{topic.producer} publishes (through its outbox relay).",
            "messages": refs(written),
        }
    }
    for consumer in topic.consumers:
        operations[f"{consumer}.receives.{topic.name}"] = {
            "action": "receive",
            "channel": channel,
            "summary": f"{consumer} consumes (group fulfil-{consumer}).",
            "messages": refs(read),
        }
    return operations


def asyncapi_document() -> dict[str, Any]:
    schemas: dict[str, Any] = {"Envelope": {}, **_headers_schemas()}
    schemas["Envelope"] = _components_schema(envelope_schema(), schemas)
    messages: dict[str, Any] = {}
    for model in published_models():
        name = schema_name(model)
        schemas[name] = _components_schema(event_schema(model), schemas)
        messages[name] = _message(model, next(t for t in TOPICS if model in t.events))
    messages[DEAD_LETTER] = _dead_letter_message()
    operations: dict[str, Any] = {}
    for topic in TOPICS:
        operations.update(_operations(topic))
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "fulfil events",
            "version": "1.0.0",
            "description": "Every topic of the fulfil platform: who writes it, who reads it, "
            "and the events it carries. Strict writers, tolerant readers: see docs/events.md.",
            "license": {"name": "Apache-2.0"},
        },
        "defaultContentType": "application/json",
        "channels": {topic.name: _channel(topic) for topic in TOPICS},
        "operations": operations,
        "components": {"schemas": schemas, "messages": messages},
    }
