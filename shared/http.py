"""The HTTP edge every service shares: health, readiness, metrics, errors and API keys.

Services add their own routers; this module gives them the same error shape
(`{"error": ..., "message": ..., "fields": [...]}`) and the same key checks.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any, Literal, TypeVar

import asyncpg
from fastapi import APIRouter, FastAPI, Path, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import AfterValidator, BaseModel, Field, SecretStr, ValidationError, WithJsonSchema
from starlette.exceptions import HTTPException
from starlette.routing import Match

from shared import db, metrics, signing
from shared.contracts.envelope import CURRENCIES
from shared.contracts.http import router as contracts_router
from shared.openapi import document_errors
from shared.tokens import token_opens
from shared.unit import Service

# The largest integers the columns behind the APIs hold (PostgreSQL INT and BIGINT):
# every integer a request carries is bounded by its column's, so it is refused with a
# 422 naming the field rather than overflowing at the database.
INT_MAX = 2**31 - 1
BIGINT_MAX = 2**63 - 1


def _known_currency(value: str) -> str:
    if value not in CURRENCIES:
        raise ValueError(f"unknown currency; expected one of {sorted(CURRENCIES)}")
    return value


# An ISO 4217 code the platform handles, listed as an enum in the OpenAPI document.
CurrencyCode = Annotated[
    str,
    AfterValidator(_known_currency),
    WithJsonSchema({"type": "string", "enum": sorted(CURRENCIES)}),
]

# An id or key in a path (order, request, SKU, provider, carrier): what the services mint
# and store, so nothing a column cannot hold (a NUL, a lone surrogate) reaches the database.
PathId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")]


def _printable(value: str) -> str:
    if any(ch == "\x00" or "\ud800" <= ch <= "\udfff" for ch in value):
        raise ValueError("must not contain NUL characters or lone surrogates")
    return value


# Free text a request stores: refused with a 422 when PostgreSQL could not store it.
StorableText = Annotated[str, AfterValidator(_printable)]

# How long a client should wait before retrying while the database is out of reach.
RETRY_AFTER_SECONDS = 5


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


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    if any(e.get("type") == "json_invalid" for e in exc.errors()):
        return JSONResponse(
            status_code=400,
            content={"error": "invalid_json", "message": "the body is not JSON", "field": "body"},
        )
    fields = [{"field": _field(e["loc"]), "message": e["msg"]} for e in exc.errors()]
    names = ", ".join(sorted({f["field"] for f in fields}))
    return JSONResponse(
        status_code=422,
        content={"error": "invalid_request", "message": f"invalid: {names}", "fields": fields},
    )


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return JSONResponse(
        status_code=exc.status,
        content={"error": exc.code, "message": exc.message, **exc.details},
    )


_CONFLICTS = (asyncpg.SerializationError, asyncpg.DeadlockDetectedError)


async def _database_error(_: Request, exc: Exception) -> JSONResponse:
    """503 with Retry-After while the database is out of reach, or when the request lost a
    deadlock or serialization conflict to a concurrent one (the same request then succeeds);
    any other error stays a 500."""
    if isinstance(exc, _CONFLICTS):
        return JSONResponse(
            status_code=503,
            headers={"Retry-After": "1"},
            content={
                "error": "busy",
                "message": "a concurrent change to the same data won; retry the request",
            },
        )
    if not db.is_transient(exc):
        raise exc
    return JSONResponse(
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        content={
            "error": "database_unavailable",
            "message": "the service cannot reach its database; retry later",
        },
    )


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route of this path answers (Starlette names only the first route's)."""
    methods = set()
    for method in _METHODS:
        scope = {"type": "http", "path": request.url.path, "root_path": "", "method": method}
        if any(route.matches(scope)[0] is Match.FULL for route in request.app.router.routes):
            methods.add(method)
    return sorted(methods | {"OPTIONS"}) if methods else []


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        allow = ", ".join(_allowed_methods(request))
        headers["Allow"] = allow
        if request.method == "OPTIONS":
            return Response(status_code=204, headers=headers)
        message = f"{request.method} is not allowed here; allowed: {allow}"
        content = {"error": "method_not_allowed", "message": message}
    elif exc.status_code == 404:
        content = {"error": "not_found", "message": f"no route {request.url.path}"}
    else:
        content = {"error": "http_error", "message": str(exc.detail)}
    return JSONResponse(status_code=exc.status_code, headers=headers, content=content)


class Readiness(BaseModel):
    status: str = Field(description="ready or not_ready")
    reasons: list[str] = Field(description="why not, one per failing check")
    checks: dict[str, Any]


_NOT_READY: dict[int | str, dict[str, Any]] = {
    503: {"description": "not ready (`reasons` says why)", "model": Readiness}
}
M = TypeVar("M", bound=BaseModel)
D = TypeVar("D")


async def signed_body(request: Request, secret: SecretStr) -> bytes:
    """The raw body of a webhook signed with `secret` (shared/signing.py); 401 otherwise."""
    raw = await request.body()
    try:
        signing.verify(secret.get_secret_value(), request.headers.get(signing.HEADER), raw)
    except signing.SignatureError as exc:
        raise Unauthorized("bad_signature", str(exc)) from exc
    return raw


def parse_body(model: type[M], raw: bytes) -> M:
    """`raw` read as `model`, refused like any request body (422 naming the fields)."""
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from exc


ReadinessCheck = Callable[[], Awaitable[dict[str, Any]]]


def create_http_app(
    service: str,
    *,
    readiness: ReadinessCheck,
    routers: Sequence[APIRouter] = (),
    version: str = "1",
) -> FastAPI:
    app = FastAPI(title=f"fulfil {service}", version=version, openapi_url="/openapi.json")
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(HTTPException, _http_error)
    for error in (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
        app.add_exception_handler(error, _database_error)

    @app.middleware("http")
    async def count_requests(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        metrics.HTTP_REQUESTS.labels(request.method, path, str(response.status_code)).inc()
        return response

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str]:
        return {"status": "alive", "service": service}

    @app.get("/readyz", tags=["operations"], response_model=Readiness, responses=_NOT_READY)
    async def readyz() -> JSONResponse:
        checks = await readiness()
        failing = {name: check for name, check in checks.items() if not check.get("ok")}
        reasons = [f"{name}: {check.get('error', 'not ok')}" for name, check in failing.items()]
        return JSONResponse(
            status_code=503 if failing else 200,
            content={
                "status": "not_ready" if failing else "ready",
                "reasons": reasons,
                "checks": checks,
            },
        )

    @app.get("/metrics", tags=["operations"], include_in_schema=False)
    async def prometheus() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    for router in (contracts_router, *routers):
        app.include_router(router)
    document_errors(app, retry_after=RETRY_AFTER_SECONDS)
    return app


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    return token.strip()


def key_matches(token: str | None, key: SecretStr) -> bool:
    return token is not None and hmac.compare_digest(
        token.encode("utf-8", "surrogatepass"), key.get_secret_value().encode()
    )


def require_key(request: Request, *keys: SecretStr) -> None:
    """401 without a bearer token, 403 when it is none of the accepted keys."""
    token = bearer_token(request)
    if token is None:
        raise Unauthorized("unauthorized", "an Authorization: Bearer token is required")
    if not any(key_matches(token, key) for key in keys):
        raise Forbidden("forbidden", "this key may not do that")


Role = Literal["shop", "ops"]


def require_role(request: Request, *roles: Role) -> None:
    """401 without a bearer token, 403 unless it is the key of one of `roles` (the shop's
    or operations' key, from the service's settings)."""
    settings = _service(request).settings
    keys = {"shop": settings.shop_api_key, "ops": settings.ops_api_key}
    require_key(request, *(keys[role] for role in roles))


def order_access(request: Request, order_id: str, access_token: str | None = None) -> str:
    """Who may act on `order_id`: "shop" (shop key), "ops" (ops key) or "token" (that order's
    access token, as a bearer token or, in a message's link, as `?access_token=`). 401
    without credentials, 403 with credentials that do not open this order."""
    settings = _service(request).settings
    secret = settings.order_token_secret.get_secret_value()
    token = bearer_token(request)
    if token is None and access_token is not None:
        if token_opens(secret, order_id, access_token):
            return "token"
        raise Forbidden("forbidden", "this token does not open this order")
    if token is None:
        raise Unauthorized("unauthorized", "an Authorization: Bearer token is required")
    if key_matches(token, settings.shop_api_key):
        return "shop"
    if key_matches(token, settings.ops_api_key):
        return "ops"
    if token_opens(secret, order_id, token):
        return "token"
    raise Forbidden("forbidden", "this token does not open this order")


def _service(request: Request) -> Service[Any]:
    service: Service[Any] = request.app.state.runtime
    return service


def service_of(request: Request, deps: type[D]) -> Service[D]:
    """The running service behind a request, with its dependencies typed as `deps` (each
    service's views pass their own `Deps`)."""
    service = _service(request)
    if not isinstance(service.deps, deps):
        raise TypeError(f"this service runs with {type(service.deps).__name__}, not {deps}")
    return service
