"""The published contract, generated from the registry and the models, never written twice.

One JSON Schema per event type and version (`docs/schemas/<Type>.v<N>.json`), the
envelope's (`docs/schemas/envelope.v1.json`) and an AsyncAPI 3.0 document of every topic
(`docs/asyncapi.json`, see `shared.contracts.asyncapi`). The services serve the same
documents (`shared.contracts.http`); the contract tests fail when the committed files
differ from what this module generates, and compare every schema with the last released
one (`shared.contracts.compatibility`).

    python -m shared.contracts.schemas            # rewrites the generated files
    python -m shared.contracts.schemas --check    # lists the files that are out of date
    python -m shared.contracts.schemas --release  # also copies the event and envelope
                                                  # schemas to released/

The published schemas are for readers: they leave `additionalProperties` open (a reader
ignores fields a newer minor version adds), while the models themselves forbid them (a
writer emits exactly its model).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from functools import cache
from pathlib import Path
from typing import Any

from shared.contracts.envelope import Envelope, Event, cloudevents_type, event_types
from shared.contracts.registry import topic_for_event

DIALECT = "https://json-schema.org/draft/2020-12/schema"
ROOT = Path(__file__).resolve().parents[2]
DOCS = Path("docs")
SCHEMAS = DOCS / "schemas"
RELEASED = SCHEMAS / "released"
ASYNCAPI = DOCS / "asyncapi.json"
ENVELOPE_NAME = "envelope.v1"


def schema_name(model: type[Event]) -> str:
    return f"{model.TYPE}.v{model.VERSION}"


def successor_of(model: type[Event]) -> type[Event] | None:
    """The model a retired one was renamed to (its direct base)."""
    if not model.RETIRED:
        return None
    base = model.__mro__[1]
    return base if issubclass(base, Event) else None


def open_for_readers(schema: Any) -> Any:
    """The schema without `additionalProperties: false`, at every level."""
    if isinstance(schema, dict):
        return {
            key: open_for_readers(value)
            for key, value in schema.items()
            if not (key == "additionalProperties" and value is False)
        }
    if isinstance(schema, list):
        return [open_for_readers(item) for item in schema]
    return schema


def about(model: type[Event]) -> dict[str, Any]:
    """What the registry says of an event model, as the `x-fulfil` member of its schema."""
    topic = topic_for_event(model.TYPE)
    successor = successor_of(model)
    return {
        "type": model.TYPE,
        "version": model.VERSION,
        "minor": model.MINOR,
        "topic": topic.name,
        "producer": topic.producer,
        "consumers": list(topic.consumers),
        "key": topic.key,
        "cloudevents_type": cloudevents_type(topic.producer, model.TYPE, model.VERSION),
        "retired": model.RETIRED,
        "successor": schema_name(successor) if successor else None,
    }


def _described(model: type[Event]) -> str:
    if model.__doc__:
        return " ".join(model.__doc__.split())
    topic = topic_for_event(model.TYPE)
    return f"{model.TYPE}, published by {topic.producer} on {topic.name}."


@cache
def event_schema(model: type[Event]) -> dict[str, Any]:
    """The JSON Schema of an event's payload (the envelope's `payload` member)."""
    generated = open_for_readers(model.model_json_schema(mode="serialization"))
    generated.pop("title", None)
    generated.pop("description", None)
    return {
        "$schema": DIALECT,
        "$id": f"urn:fulfil:event:{model.TYPE}:v{model.VERSION}",
        "title": model.TYPE,
        "description": _described(model),
        "x-fulfil": about(model),
        **generated,
    }


@cache
def envelope_schema() -> dict[str, Any]:
    generated = open_for_readers(Envelope.model_json_schema(mode="serialization"))
    generated.pop("title", None)
    properties = generated["properties"]
    properties["payload"]["description"] = (
        "The event itself: its schema is the one of `type` at `schema_version`."
    )
    properties["schema_version"]["description"] = "The major version readers dispatch on."
    properties["schema_minor"]["description"] = (
        "The minor version, left off while it is 0; readers never depend on it."
    )
    return {
        "$schema": DIALECT,
        "$id": "urn:fulfil:envelope:v1",
        "title": "Envelope",
        "description": "What every record on a lifecycle topic carries (the Kafka value, JSON).",
        **generated,
    }


def published_models() -> list[type[Event]]:
    """Every event model, in a stable order (type, then version)."""
    return [model for _key, model in sorted(event_types().items())]


def schema_of(event_type: str, version: int) -> dict[str, Any] | None:
    model = event_types().get((event_type, version))
    return event_schema(model) if model else None


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def generated_files() -> dict[Path, str]:
    """Every generated file (relative to the repository) and its text."""
    from shared.contracts.asyncapi import asyncapi_document

    files = {
        SCHEMAS / f"{schema_name(m)}.json": render(event_schema(m)) for m in published_models()
    }
    files[SCHEMAS / f"{ENVELOPE_NAME}.json"] = render(envelope_schema())
    files[ASYNCAPI] = render(asyncapi_document())
    return files


def out_of_date(root: Path = ROOT) -> list[str]:
    """The generated files that differ from what is committed, and stale ones left behind."""
    files = generated_files()
    stale = [
        str(path.relative_to(root))
        for path in sorted((root / SCHEMAS).glob("*.json"))
        if path.relative_to(root) not in files
    ]
    differ = [
        str(relative)
        for relative, text in files.items()
        if not (root / relative).exists() or (root / relative).read_text() != text
    ]
    return differ + stale


def write(root: Path = ROOT) -> list[Path]:
    files = generated_files()
    (root / SCHEMAS).mkdir(parents=True, exist_ok=True)
    for path in (root / SCHEMAS).glob("*.json"):
        if path.relative_to(root) not in files:
            path.unlink()
    for relative, text in files.items():
        (root / relative).write_text(text)
    return list(files)


def release(root: Path = ROOT) -> list[Path]:
    """Makes the current event schemas the released ones the compatibility check holds to."""
    (root / RELEASED).mkdir(parents=True, exist_ok=True)
    copied = []
    for name in [f"{schema_name(m)}.json" for m in published_models()] + [f"{ENVELOPE_NAME}.json"]:
        shutil.copyfile(root / SCHEMAS / name, root / RELEASED / name)
        copied.append(RELEASED / name)
    return copied


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.contracts.schemas")
    parser.add_argument("--check", action="store_true", help="list out-of-date files, exit 1")
    parser.add_argument("--release", action="store_true", help="copy event schemas to released/")
    args = parser.parse_args(argv)
    if args.check:
        differ = out_of_date()
        for path in differ:
            print(f"out of date: {path} (run `make schemas`)")
        return 1 if differ else 0
    written = write()
    print(f"wrote {len(written)} files under {DOCS}/")
    if args.release:
        print(f"released {len(release())} schemas to {RELEASED}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
