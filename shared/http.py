"""The HTTP edge every service shares: health, readiness, metrics, errors and API keys.

Services add their own routers; this module gives them the same error contract (RFC 9457
problems, shared/problems.py), the same key checks, the correlation id and latency metric
of every request (shared/edge.py) and the API's documentation pages, served from the
package so that they work on a machine without a network.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Sequence
from importlib import resources
from typing import Annotated, Any, Literal, TypeVar

import asyncpg
from fastapi import APIRouter, FastAPI, Path, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import AfterValidator, BaseModel, Field, SecretStr, ValidationError, WithJsonSchema
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp

from shared import problems, signing
from shared.contracts.envelope import CURRENCIES
from shared.contracts.http import router as contracts_router
from shared.edge import Edge
from shared.openapi import document_errors
from shared.problems import RETRY_AFTER_SECONDS as RETRY_AFTER_SECONDS
from shared.problems import ApiError as ApiError
from shared.problems import Conflict as Conflict
from shared.problems import Forbidden, Unauthorized
from shared.problems import NotFound as NotFound
from shared.problems import Unprocessable as Unprocessable
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


class _EdgeApp(FastAPI):
    """FastAPI with `Edge` outside everything, the 500 answers of a bug included."""

    def build_middleware_stack(self) -> ASGIApp:
        return Edge(super().build_middleware_stack(), service=getattr(self.state, "service", None))


def create_http_app(
    service: str,
    *,
    readiness: ReadinessCheck,
    routers: Sequence[APIRouter] = (),
    version: str = "1",
) -> FastAPI:
    app = _EdgeApp(
        title=f"fulfil {service}",
        version=version,
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.service = service  # names the edge's tracer
    app.add_exception_handler(RequestValidationError, problems.validation_error)
    app.add_exception_handler(ApiError, problems.api_error)
    app.add_exception_handler(HTTPException, problems.http_error)
    for error in (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
        app.add_exception_handler(error, problems.database_error)
    app.add_exception_handler(Exception, problems.server_error)

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

    _serve_docs(app)
    for router in (contracts_router, *routers):
        app.include_router(router)
    document_errors(app, retry_after=RETRY_AFTER_SECONDS)
    return app


# Swagger UI (Apache-2.0) and Redoc (MIT), as the `fastapi-offline` package (MIT) ships them.
DOCS_ASSETS = resources.files("fastapi_offline") / "static"
ASSETS_URL = "/docs/assets"


def _serve_docs(app: FastAPI) -> None:
    """`/docs` (Swagger UI, with an Authorize button for the keys the API documents) and
    `/redoc`, their scripts and styles served by the service itself."""
    app.mount(ASSETS_URL, StaticFiles(directory=str(DOCS_ASSETS)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - API",
            swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            # no validator badge: it would call the validator's site from the page
            swagger_ui_parameters={"persistAuthorization": True, "validatorUrl": None},
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - API",
            redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )


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


Role = Literal["shop", "ops", "ops_raw"]


def require_role(request: Request, *roles: Role) -> None:
    """401 without a bearer token, 403 unless it is the key of one of `roles` (the shop's,
    operations' or, for personal data unmasked, operations' raw key, from the service's
    settings; a role without a key set admits nobody)."""
    settings = _service(request).settings
    keys = {
        "shop": settings.shop_api_key,
        "ops": settings.ops_api_key,
        "ops_raw": settings.ops_raw_api_key,
    }
    require_key(request, *(key for role in roles if (key := keys[role]) is not None))


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
