"""What every HTTP request passes through: its correlation id and its latency metric.

A plain ASGI middleware (no task or memory stream per request, as Starlette's
`BaseHTTPMiddleware` adds). The request's `X-Correlation-ID` is kept when it is an
identifier (printable ASCII, at most 128 characters) and replaced by a new one otherwise;
the views read the header as the edge left it, the units a request opens carry it
(`shared.unit.REQUEST_CORRELATION_ID`), every log line of the request binds it, and the
response echoes it.

When the service traces, each request is a server span, the child of the request's W3C
`traceparent` when it has one, current while the app answers: the units the request opens
write it with their outbox rows. When it does not, an incoming `traceparent` is carried
through unchanged to those rows (shared/tracing.py).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import structlog
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import metrics, tracing
from shared.unit import REQUEST_CORRELATION_ID

HEADER = b"x-correlation-id"
MAX_LENGTH = 128
# The route label of a request no route answers (a 404): one series, whatever the path.
UNMATCHED = "unmatched"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Probes and scrapes, every few seconds from the platform: a trace each would drown the
# orders' traces, so they are not traced (an incoming context is still carried).
UNTRACED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def valid_correlation_id(raw: bytes | None) -> str | None:
    """`raw` as a correlation id, or None when it is empty, too long or not printable."""
    if not raw or len(raw) > MAX_LENGTH or not all(0x20 <= b <= 0x7E for b in raw):
        return None
    return raw.decode("ascii")


def route_template(scope: Scope) -> str:
    """The template of the route that answered (`/v1/orders/{order_id}`), never the path
    itself, so the metric has one series per route. Routes of the framework's own (the
    OpenAPI document, the docs pages' assets) are named by their path too."""
    route = scope.get("route")
    if route is not None:
        return str(route.path)
    endpoint = scope.get("endpoint")
    app = scope.get("app")
    if endpoint is None or app is None:
        return UNMATCHED
    for candidate in app.router.routes:
        if getattr(candidate, "endpoint", None) is endpoint:
            return str(candidate.path)
        if getattr(candidate, "app", None) is endpoint:  # a mount: its files
            return f"{candidate.path}/{{path}}"
    return UNMATCHED


class Edge:
    def __init__(self, app: ASGIApp, *, service: str | None = None) -> None:
        self.app = app
        self.service = service  # names the tracer of the requests' spans

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        given = next((value for name, value in headers if name == HEADER), None)
        correlation_id = valid_correlation_id(given) or str(uuid.uuid4())
        echoed = (HEADER, correlation_id.encode("ascii"))
        if given != echoed[1]:
            scope = {**scope, "headers": [*(h for h in headers if h[0] != HEADER), echoed]}
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), echoed]
            await send(message)

        token = REQUEST_CORRELATION_ID.set(correlation_id)
        bound = structlog.contextvars.bind_contextvars(correlation_id=correlation_id)
        span, trace_token = self._trace(headers, scope["method"], scope["path"])
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            structlog.contextvars.reset_contextvars(**bound)
            REQUEST_CORRELATION_ID.reset(token)
            route = _observe(scope, status, time.perf_counter() - started)
            if span is not None:
                _end(span, scope["method"], route, status)
                otel_context.detach(trace_token)
            elif trace_token is not None:
                tracing.INCOMING.reset(trace_token)

    def _trace(
        self, headers: list[tuple[bytes, bytes]], method: str, path: str
    ) -> tuple[Span | None, Any]:
        """The request's server span and the token that made it current, when the service
        traces; else no span and, when the request carries a trace context, the token that
        carries it through to the units the request opens."""
        traced = tracing.tracer(self.service) if tracing.ENABLED and self.service else None
        carried = tracing.of_http(headers)
        if traced is None or path in UNTRACED_PATHS:
            return None, None if carried is None else tracing.INCOMING.set(carried)
        span = traced.start_span(
            method,
            context=tracing.parent_context(carried),
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method},
        )
        return span, otel_context.attach(trace.set_span_in_context(span))


def _observe(scope: Scope, status: int, seconds: float) -> str:
    method = scope["method"] if scope["method"] in _METHODS else "other"
    route = route_template(scope)
    metrics.HTTP_REQUEST_SECONDS.labels(method, route, str(status)).observe(seconds)
    return route


def _end(span: Span, method: str, route: str, status: int) -> None:
    span.update_name(f"{method} {route}")
    span.set_attribute("http.route", route)
    span.set_attribute("http.response.status_code", status)
    if status >= 500:
        span.set_status(StatusCode.ERROR)
    span.end()
