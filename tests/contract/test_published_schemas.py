"""The published contract: generated from the code, committed, valid, and served."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import yaml

from shared.contracts.asyncapi import asyncapi_document
from shared.contracts.envelope import Envelope, Event, event_types
from shared.contracts.registry import TOPICS, topic_for_event
from shared.contracts.schemas import (
    ASYNCAPI,
    ASYNCAPI_YAML,
    ROOT,
    envelope_schema,
    event_schema,
    out_of_date,
    schema_name,
)
from shared.http import create_http_app
from tests.support.samples import sample_event

ASYNCAPI_SCHEMA = Path(__file__).parent / "asyncapi" / "asyncapi-3.0.0.schema.json"
MODELS = sorted(event_types().values(), key=schema_name)


def test_the_committed_schemas_and_asyncapi_document_are_what_the_code_generates() -> None:
    differ = out_of_date()
    assert not differ, f"out of date (run `make schemas` and commit them): {differ}"


def test_the_asyncapi_document_is_valid_against_the_asyncapi_3_schema() -> None:
    validator = jsonschema.Draft7Validator(json.loads(ASYNCAPI_SCHEMA.read_text()))
    document = json.loads((ROOT / ASYNCAPI).read_text())
    errors = [
        f"{list(e.absolute_path)}: {e.message[:200]}" for e in validator.iter_errors(document)
    ]
    assert not errors, errors


def test_the_yaml_copy_of_the_asyncapi_document_is_the_json_one() -> None:
    copy = yaml.safe_load((ROOT / ASYNCAPI_YAML).read_text())
    assert copy == json.loads((ROOT / ASYNCAPI).read_text())


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "$ref"] + [
            ref for k, v in node.items() if k != "$ref" for ref in _refs(v)
        ]
    if isinstance(node, list):
        return [ref for item in node for ref in _refs(item)]
    return []


def test_every_reference_in_the_asyncapi_document_resolves_inside_it() -> None:
    document = asyncapi_document()
    unresolved = []
    for ref in sorted(set(_refs(document))):
        node: Any = document
        for part in ref.removeprefix("#/").split("/"):
            node = node.get(part) if isinstance(node, dict) else None
        if node is None:
            unresolved.append(ref)
    assert not unresolved, unresolved


def test_the_validation_catches_what_asyncapi_3_does_not_allow() -> None:
    validator = jsonschema.Draft7Validator(json.loads(ASYNCAPI_SCHEMA.read_text()))
    document = asyncapi_document()
    document["operations"]["order.sends.orders.v1"]["action"] = "publish"  # AsyncAPI 2 wording
    assert not validator.is_valid(document)


def test_the_asyncapi_document_describes_every_topic_as_the_registry_declares_it() -> None:
    document = asyncapi_document()
    assert set(document["channels"]) == {t.name for t in TOPICS}
    for topic in TOPICS:
        channel = document["channels"][topic.name]
        kafka = channel["bindings"]["kafka"]
        assert kafka["partitions"] == topic.partitions
        assert kafka["topicConfiguration"]["retention.ms"] == topic.retention_ms
        assert channel["x-fulfil"] == {
            "producer": topic.producer,
            "consumers": list(topic.consumers),
            "key": topic.key,
            "dead_letter": topic.dead_letter,
        }
        if topic.dead_letter:
            assert set(channel["messages"]) == {"DeadLetter"}
        else:
            assert set(channel["messages"]) == {schema_name(e) for e in topic.events}
        operations = {
            name: op
            for name, op in document["operations"].items()
            if op["channel"] == {"$ref": f"#/channels/{topic.name}"}
        }
        senders = [op for op in operations.values() if op["action"] == "send"]
        readers = {n.split(".")[0] for n, op in operations.items() if op["action"] == "receive"}
        assert len(senders) == 1 and f"{topic.producer}.sends.{topic.name}" in operations
        assert readers == set(topic.consumers)
    headers = document["components"]["schemas"]["EventHeaders"]["properties"]
    assert {"event_id", "type", "schema_version", "ce_id", "ce_type", "content-type"} <= set(
        headers
    )


def test_a_retired_name_is_read_but_never_sent() -> None:
    document = asyncapi_document()
    for model in (m for m in MODELS if m.RETIRED):
        topic = topic_for_event(model.TYPE)
        ref = {"$ref": f"#/channels/{topic.name}/messages/{schema_name(model)}"}
        send = document["operations"][f"{topic.producer}.sends.{topic.name}"]
        assert ref not in send["messages"]
        for consumer in topic.consumers:
            assert ref in document["operations"][f"{consumer}.receives.{topic.name}"]["messages"]


@pytest.mark.parametrize("model", MODELS, ids=schema_name)
def test_every_event_schema_accepts_what_the_producer_writes_and_fields_it_adds_later(
    model: type[Event],
) -> None:
    schema = event_schema(model)
    validator = jsonschema.Draft202012Validator(schema, format_checker=None)
    written: dict[str, Any] = sample_event(model).model_dump(mode="json")
    validator.validate(written)
    validator.validate({**written, "added_in_a_later_minor": True})
    topic = topic_for_event(model.TYPE)
    envelope = Envelope.wrap(sample_event(model), producer=topic.producer, order_id="o")
    jsonschema.Draft202012Validator(envelope_schema()).validate(json.loads(envelope.to_bytes()))


async def test_every_service_serves_the_asyncapi_document_and_the_event_schemas() -> None:
    async def ready() -> dict[str, Any]:
        return {}

    transport = httpx.ASGITransport(app=create_http_app("order", readiness=ready))
    async with httpx.AsyncClient(transport=transport, base_url="http://order") as client:
        served = await client.get("/asyncapi.json")
        schema = await client.get("/schemas/OrderPlaced/1")
        missing = await client.get("/schemas/OrderPlaced/9")
    assert served.status_code == 200
    assert served.json() == json.loads((ROOT / ASYNCAPI).read_text())
    assert schema.status_code == 200
    assert schema.headers["content-type"].startswith("application/schema+json")
    assert schema.json() == json.loads((ROOT / "docs/schemas/OrderPlaced.v1.json").read_text())
    assert missing.status_code == 404
    assert "OrderPlaced" in missing.text
