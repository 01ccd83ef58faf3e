"""The error answers every service documents the same way in its OpenAPI document.

Routes name the refusals they make (`responses=errors(401, 404)`); this module gives
each one the project's error body, documents 400 (a body that is not JSON) where a
route takes a body, 422 as the body actually sent, and 503 with `Retry-After` on every
route that needs the database.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

_DESCRIPTIONS = {
    400: "the body is not JSON",
    401: "no credentials (an Authorization: Bearer token is required)",
    403: "credentials that do not allow this",
    404: "unknown resource",
    409: "the resource's state does not allow this",
    422: "invalid input (`fields` names each field)",
    502: "an outside provider did not answer",
    503: "the database is out of reach; retry after `Retry-After` seconds",
}
_ERROR_REF = {"$ref": "#/components/schemas/Error"}
_ERROR_SCHEMAS: dict[str, Any] = {
    "FieldError": {
        "type": "object",
        "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
        "required": ["field", "message"],
    },
    "Error": {
        "type": "object",
        "description": "Every refusal: a machine-readable `error`, a sentence, and details.",
        "properties": {
            "error": {"type": "string"},
            "message": {"type": "string"},
            "field": {"type": "string", "description": "the field at fault, if one is"},
            "fields": {"type": "array", "items": {"$ref": "#/components/schemas/FieldError"}},
        },
        "required": ["error", "message"],
        "additionalProperties": True,
    },
}
_METHODS = ("get", "put", "post", "delete", "patch")


def errors(*statuses: int, **descriptions: str) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route that can refuse with `statuses`; a description given as
    `s404="no such order"` replaces the standard one."""
    return {
        status: {"description": descriptions.get(f"s{status}", _DESCRIPTIONS.get(status, ""))}
        for status in statuses
    }


def document_errors(app: FastAPI, *, retry_after: int) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        _document(schema, retry_after)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _error(status: int, **extra: Any) -> dict[str, Any]:
    return {
        "description": _DESCRIPTIONS[status],
        "content": {"application/json": {"schema": _ERROR_REF}},
        **extra,
    }


def _document(schema: dict[str, Any], retry_after: int) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    components.update(_ERROR_SCHEMAS)
    unavailable = _error(
        503,
        headers={
            "Retry-After": {
                "description": f"seconds to wait before retrying ({retry_after})",
                "schema": {"type": "integer"},
            }
        },
    )
    for path, operations in schema.get("paths", {}).items():
        for method in _METHODS:
            operation = operations.get(method)
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            for status, response in responses.items():
                if status[0] == "4" or (status[0] == "5" and "content" not in response):
                    response["content"] = {"application/json": {"schema": _ERROR_REF}}
            if not path.startswith("/v1/"):
                continue
            if "requestBody" in operation:
                responses.setdefault("400", _error(400))
            responses.setdefault("503", unavailable)
