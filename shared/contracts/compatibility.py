"""The compatibility check: every published schema against the last released one.

A reader built against a released schema must keep reading what a producer writes now,
and a reader built now must read what is still on the topics. So, for each released
`<Type>.v<N>` (and the envelope):

- the type and version still exist (a rename is a new version; the old name stays,
  retired, while the topics hold it), on the same topic;
- no field is removed or retyped (type, format, allowed values, bounds; at any depth);
- no optional field becomes required, and no new field is required;
- a field may be added, optional; then the model's MINOR is raised above the released one.

Each problem names the schema and the field. `python -m shared.contracts.compatibility`
prints them (exit 1); the contract tests fail on them.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.contracts.schemas import (
    ENVELOPE_NAME,
    RELEASED,
    ROOT,
    envelope_schema,
    event_schema,
    published_models,
    schema_name,
)

Schema = dict[str, Any]
_SIGNATURE = (
    "type",
    "format",
    "enum",
    "const",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
)


@dataclass(frozen=True)
class Problem:
    schema: str
    field: str
    change: str

    def __str__(self) -> str:
        where = f"field {self.field!r}" if self.field else "the payload"
        return f"{self.schema}: {where} {self.change}"


@dataclass
class _Walk:
    name: str
    old_root: Schema
    new_root: Schema
    problems: list[Problem] = field(default_factory=list)
    added: list[str] = field(default_factory=list)

    def fail(self, path: str, change: str) -> None:
        self.problems.append(Problem(self.name, path, change))

    def resolve(self, node: Any, root: Schema) -> Any:
        seen = 0
        while isinstance(node, dict) and "$ref" in node and seen < 32:
            pointer = node["$ref"].removeprefix("#/").split("/")
            target: Any = root
            for part in pointer:
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node, seen = target, seen + 1
        return node

    def compare(self, path: str, old: Any, new: Any) -> None:
        old, new = self.resolve(old, self.old_root), self.resolve(new, self.new_root)
        if _kind(old) != _kind(new):
            self.fail(path, f"retyped: {_describe(old)} -> {_describe(new)}")
        elif _kind(old) == "union":
            self._union(path, old, new)
        elif _kind(old) == "object":
            self._object(path, old, new)
        elif _kind(old) == "array":
            if _signature(old) != _signature(new):
                self.fail(path, f"retyped: {_describe(old)} -> {_describe(new)}")
            self.compare(f"{path}[]", old.get("items", {}), new.get("items", {}))
        elif _signature(old) != _signature(new):
            self.fail(path, f"retyped: {_describe(old)} -> {_describe(new)}")

    def _union(self, path: str, old: Schema, new: Schema) -> None:
        olds = [self.resolve(b, self.old_root) for b in _branches(old)]
        news = [self.resolve(b, self.new_root) for b in _branches(new)]
        if sorted(map(_branch_key, olds)) != sorted(map(_branch_key, news)):
            described = " | ".join(map(_describe, olds)), " | ".join(map(_describe, news))
            self.fail(path, "retyped: {} -> {}".format(*described))
            return
        by_key = {_branch_key(b): b for b in news}
        for branch in olds:
            self.compare(path, branch, by_key[_branch_key(branch)])

    def _object(self, path: str, old: Schema, new: Schema) -> None:
        old_props, new_props = old.get("properties", {}), new.get("properties", {})
        old_required, new_required = set(old.get("required", ())), set(new.get("required", ()))
        for name, schema in old_props.items():
            here = f"{path}.{name}" if path else name
            if name not in new_props:
                self.fail(here, "removed (a removed field is a new schema version)")
                continue
            if name in new_required and name not in old_required:
                self.fail(here, "made required (it was optional)")
            self.compare(here, schema, new_props[name])
        for name in new_props.keys() - old_props.keys():
            here = f"{path}.{name}" if path else name
            if name in new_required:
                self.fail(here, "added as required (a new field must be optional)")
            else:
                self.added.append(here)
        old_extra, new_extra = old.get("additionalProperties"), new.get("additionalProperties")
        if isinstance(old_extra, dict) and isinstance(new_extra, dict):
            self.compare(f"{path}{{}}", old_extra, new_extra)


def _branches(node: Schema) -> list[Any]:
    return list(node.get("anyOf") or node.get("oneOf") or ())


def _kind(node: Any) -> str:
    if not isinstance(node, dict):
        return "any"
    if "anyOf" in node or "oneOf" in node:
        return "union"
    if "enum" in node or "const" in node:
        return "values"
    kind = node.get("type", "any")
    return kind if isinstance(kind, str) else "/".join(sorted(kind))


def _branch_key(node: Any) -> str:
    kind = _kind(node)
    return f"{kind}:{node.get('type', '')}" if kind == "values" else kind


def _signature(node: Any) -> dict[str, Any]:
    if not isinstance(node, dict):
        return {}
    signature = {key: node[key] for key in _SIGNATURE if key in node}
    if "enum" in signature:
        signature["enum"] = sorted(map(json.dumps, signature["enum"]))
    return signature


def _describe(node: Any) -> str:
    kind = _kind(node)
    if kind == "union":
        return " | ".join(_describe(b) for b in _branches(node))
    signature = _signature(node)
    if kind == "values":
        values = node.get("enum", [node.get("const")])
        return f"one of {values}"
    details = ", ".join(f"{k}={v}" for k, v in signature.items() if k != "type")
    return f"{kind} ({details})" if details else kind


def _body(schema: Schema) -> Schema:
    return {k: v for k, v in schema.items() if k in ("properties", "required", "type")}


def compare(name: str, released: Schema, current: Schema) -> list[Problem]:
    """What breaks a reader of `released` (or a reader of `current` meeting old records)."""
    walk = _Walk(name, released, current)
    old_facts, new_facts = released.get("x-fulfil", {}), current.get("x-fulfil", {})
    if old_facts.get("topic") != new_facts.get("topic"):
        walk.fail("", f"moved from topic {old_facts.get('topic')} to {new_facts.get('topic')}")
    walk.compare("", released, current)
    minor, released_minor = new_facts.get("minor", 0), old_facts.get("minor", 0)
    if walk.added and "x-fulfil" in released and minor <= released_minor:
        fields = ", ".join(repr(f) for f in walk.added)
        walk.fail(
            walk.added[0],
            f"added ({fields}) without raising MINOR above the released {released_minor}",
        )
    return walk.problems


def check(released: Mapping[str, Schema], current: Mapping[str, Schema]) -> list[Problem]:
    """Every problem between released schemas and current ones, by name (`<Type>.v<N>`)."""
    problems: list[Problem] = []
    for name, schema in sorted(released.items()):
        if name in current:
            problems += compare(name, schema, current[name])
            continue
        version = name.rsplit(".", 1)[-1]
        twins = [
            other
            for other, candidate in current.items()
            if other not in released
            and other.endswith(f".{version}")
            and _body(candidate) == _body(schema)
        ]
        if twins:
            change = (
                f"renamed to {twins[0]} without a new version: keep {name} as a retired "
                "model (retired_v1) and publish the new name as the next version"
            )
        else:
            change = "removed: a released type stays readable while the topics hold it"
        problems.append(Problem(name, "", change))
    return problems


def released_schemas(root: Path = ROOT) -> dict[str, Schema]:
    return {
        path.name.removesuffix(".json"): json.loads(path.read_text())
        for path in sorted((root / RELEASED).glob("*.json"))
    }


def current_schemas() -> dict[str, Schema]:
    schemas = {schema_name(m): event_schema(m) for m in published_models()}
    schemas[ENVELOPE_NAME] = envelope_schema()
    return schemas


def check_repository(root: Path = ROOT) -> list[Problem]:
    return check(released_schemas(root), current_schemas())


def main() -> int:
    problems = check_repository()
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
