"""What every HTTP request passes through: its correlation id and its latency metric.

A plain ASGI middleware (no task or memory stream per request, as Starlette's
`BaseHTTPMiddleware` adds). The request's `X-Correlation-ID` is kept when it is an
identifier (printable ASCII, at most 128 characters) and replaced by a new one otherwise;
the views read the header as the edge left it, the units a request opens carry it
(`shared.unit.REQUEST_CORRELATION_ID`), every log line of the request binds it, and the
response echoes it.
"""

from __future__ import annotations

import time
import uuid

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import metrics
from shared.unit import REQUEST_CORRELATION_ID

HEADER = b"x-correlation-id"
MAX_LENGTH = 128
# The route label of a request no route answers (a 404): one series, whatever the path.
UNMATCHED = "unmatched"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


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
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

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
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            structlog.contextvars.reset_contextvars(**bound)
            REQUEST_CORRELATION_ID.reset(token)
            _observe(scope, status, time.perf_counter() - started)


def _observe(scope: Scope, status: int, seconds: float) -> None:
    method = scope["method"] if scope["method"] in _METHODS else "other"
    route = route_template(scope)
    metrics.HTTP_REQUEST_SECONDS.labels(method, route, str(status)).observe(seconds)
