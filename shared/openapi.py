"""The error answers and credentials every service documents the same way in its OpenAPI
document.

Routes name the refusals they make (`responses=errors(401, 404)`); this module gives
each one the project's error body (an RFC 9457 problem, `application/problem+json`),
documents 400 (a body that is not JSON) where a route takes a body, 422 as the body
actually sent, and 503 with `Retry-After` on every route that needs the database. It
declares the credentials the APIs take (`securitySchemes`: the shop's and operations'
keys, an order's access token) and names them on every route that asks for one, so the
docs page has an Authorize button.
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
PROBLEM_MEDIA_TYPE = "application/problem+json"
_ERROR_REF = {"$ref": "#/components/schemas/Problem"}
_ERROR_CONTENT = {PROBLEM_MEDIA_TYPE: {"schema": _ERROR_REF}}
_ERROR_SCHEMAS: dict[str, Any] = {
    "FieldError": {
        "type": "object",
        "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
        "required": ["field", "message"],
    },
    "Problem": {
        "type": "object",
        "description": (
            "Every refusal, as an RFC 9457 problem. `error` (the code, also the last segment"
            " of `type`), `message`, `field` and `fields` are extension members."
        ),
        "properties": {
            "type": {
                "type": "string",
                "description": "`https://fulfil.dev/problems/<error>`, or `about:blank` for"
                " the framework's own (no such route or method)",
            },
            "title": {"type": "string", "description": "the status's reason phrase"},
            "status": {
                "type": "integer",
                "minimum": 100,
                "maximum": 599,
                "description": "the HTTP status",
            },
            "detail": {"type": "string", "description": "what went wrong, for people"},
            "instance": {"type": "string", "description": "the path of the request"},
            "error": {"type": "string", "description": "the machine-readable code"},
            "message": {"type": "string", "description": "the same sentence as `detail`"},
            "field": {"type": "string", "description": "the field at fault, if one is"},
            "fields": {"type": "array", "items": {"$ref": "#/components/schemas/FieldError"}},
        },
        "required": ["type", "title", "status", "detail", "instance", "error", "message"],
        "additionalProperties": True,
    },
}
SECURITY_SCHEMES: dict[str, Any] = {
    "shopKey": {
        "type": "http",
        "scheme": "bearer",
        "description": "the shop's API key (`Authorization: Bearer <key>`)",
    },
    "opsKey": {
        "type": "http",
        "scheme": "bearer",
        "description": "operations' API key (`Authorization: Bearer <key>`)",
    },
    "customerToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "an order's access token, given to the customer when it is placed;"
        " opens that order only",
    },
    "accessToken": {
        "type": "apiKey",
        "in": "query",
        "name": "access_token",
        "description": "an order's access token in a message's link (`?access_token=`)",
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
        "content": _ERROR_CONTENT,
        **extra,
    }


def _document(schema: dict[str, Any], retry_after: int) -> None:
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    schemas.update(_ERROR_SCHEMAS)
    components["securitySchemes"] = SECURITY_SCHEMES
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
                    response["content"] = _ERROR_CONTENT
            security = _security(path, operation)
            if security:
                operation["security"] = security
            if "requestBody" in operation:  # a body that is not JSON (or not UTF-8)
                responses.setdefault("400", _error(400))
            if not path.startswith("/v1/"):
                continue
            responses.setdefault("503", unavailable)


def _security(path: str, operation: dict[str, Any]) -> list[dict[str, list[str]]]:
    """The credentials a route takes: a route that refuses with 401 and 403 asks for a key
    (a webhook's 401 alone is its signature); one about an order also opens with that
    order's token, and one with an `access_token` parameter with it in the query."""
    responses = operation.get("responses", {})
    if "401" not in responses or "403" not in responses:
        return []
    security: list[dict[str, list[str]]] = [{"shopKey": []}, {"opsKey": []}]
    if "{order_id}" in path:
        security.append({"customerToken": []})
    names = {p.get("name") for p in operation.get("parameters", []) if p.get("in") == "query"}
    if "access_token" in names:
        security.append({"accessToken": []})
    return security
