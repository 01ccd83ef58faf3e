"""Every refusal the services send, as an RFC 9457 problem (`application/problem+json`).

A problem carries the standard members (`type`, `title`, `status`, `detail`, `instance`)
and, as extension members, the project's own: `error` (the machine-readable code, also
the last segment of `type`), `message` (the same sentence as `detail`), and `field` /
`fields` naming the input at fault. Clients that read only `error` and `message` keep
working; clients with standard tooling read the RFC members.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

import asyncpg
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.routing import Match

from shared import db

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://fulfil.dev/problems/"
# The framework's own refusals (no route, no such method) carry no more than their status.
FRAMEWORK = "about:blank"
# How long a client should wait before retrying while the database is out of reach.
RETRY_AFTER_SECONDS = 5
# Every 401 names the scheme that would open the resource (RFC 9110 section 11.6.1).
WWW_AUTHENTICATE = 'Bearer realm="fulfil"'
_RESERVED = frozenset({"type", "title", "status", "detail", "instance", "error", "message"})


class ProblemResponse(JSONResponse):
    media_type = MEDIA_TYPE


def problem(
    request: Request,
    status: int,
    code: str,
    message: str,
    *,
    type_uri: str | None = None,
    headers: Mapping[str, str] | None = None,
    extensions: Mapping[str, Any] | None = None,
) -> ProblemResponse:
    """The response for a refusal: `code` names it (`type` is its URI unless given). An
    extension named like a standard member (a detail `status`) never replaces it."""
    content = {k: v for k, v in (extensions or {}).items() if k not in _RESERVED}
    content.update(
        type=type_uri or TYPE_BASE + code,
        title=HTTPStatus(status).phrase,
        status=status,
        detail=message,
        instance=request.url.path,
        error=code,
        message=message,
    )
    all_headers = dict(headers or {})
    if status == 401:
        all_headers.setdefault("WWW-Authenticate", WWW_AUTHENTICATE)
    return ProblemResponse(status_code=status, headers=all_headers, content=content)


class ApiError(Exception):
    """A refusal with a status, a machine-readable code and a sentence for people."""

    status = 400

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details


class NotFound(ApiError):
    status = 404


class Conflict(ApiError):
    status = 409


class Unprocessable(ApiError):
    status = 422


class Unauthorized(ApiError):
    status = 401


class Forbidden(ApiError):
    status = 403


def _field(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    out = ""
    for part in parts:
        out += f"[{part}]" if part.isdigit() else (f".{part}" if out else part)
    return out or "body"


async def validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if any(e.get("type") == "json_invalid" for e in exc.errors()):
        message = "the body is not JSON"
        return problem(request, 400, "invalid_json", message, extensions={"field": "body"})
    fields = [{"field": _field(e["loc"]), "message": e["msg"]} for e in exc.errors()]
    names = ", ".join(sorted({f["field"] for f in fields}))
    message = f"invalid: {names}"
    return problem(request, 422, "invalid_request", message, extensions={"fields": fields})


async def api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return problem(request, exc.status, exc.code, exc.message, extensions=exc.details)


_CONFLICTS = (asyncpg.SerializationError, asyncpg.DeadlockDetectedError)


async def database_error(request: Request, exc: Exception) -> Response:
    """503 with Retry-After while the database is out of reach, or when the request lost a
    deadlock or serialization conflict to a concurrent one (the same request then succeeds);
    any other error stays a 500."""
    if isinstance(exc, _CONFLICTS):
        message = "a concurrent change to the same data won; retry the request"
        return problem(request, 503, "busy", message, headers={"Retry-After": "1"})
    if not db.is_transient(exc):
        raise exc
    return problem(
        request,
        503,
        "database_unavailable",
        "the service cannot reach its database; retry later",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


async def server_error(request: Request, exc: Exception) -> Response:
    """A bug: a 500 problem without the details (the error itself is logged)."""
    return problem(request, 500, "internal_error", "the service failed to answer")


_UNPARSED_BODY = "There was an error parsing the body"
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route of this path answers (Starlette names only the first route's)."""
    methods = set()
    for method in _METHODS:
        scope = {"type": "http", "path": request.url.path, "root_path": "", "method": method}
        if any(route.matches(scope)[0] is Match.FULL for route in request.app.router.routes):
            methods.add(method)
    return sorted(methods | {"OPTIONS"}) if methods else []


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    headers = dict(exc.headers or {})
    status = exc.status_code
    if status == 405:
        allow = ", ".join(_allowed_methods(request))
        headers["Allow"] = allow
        if request.method == "OPTIONS":
            return Response(status_code=204, headers=headers)
        message = f"{request.method} is not allowed here; allowed: {allow}"
        return problem(
            request, 405, "method_not_allowed", message, type_uri=FRAMEWORK, headers=headers
        )
    if status == 400 and exc.detail == _UNPARSED_BODY:  # FastAPI's words for a non-UTF-8 body
        message = "the body is not JSON"
        return problem(request, 400, "invalid_json", message, extensions={"field": "body"})
    if status == 404:
        message = f"no route {request.url.path}"
        return problem(request, 404, "not_found", message, type_uri=FRAMEWORK, headers=headers)
    return problem(
        request, status, "http_error", str(exc.detail), type_uri=FRAMEWORK, headers=headers
    )
