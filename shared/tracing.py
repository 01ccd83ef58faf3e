"""Traces across every hop: HTTP request, outbox row, Kafka record, consumer, next row.

OpenTelemetry, W3C Trace Context. A service traces when its settings name where spans go
(`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, the standard
variables, or `<SERVICE>_TRACES_FILE` for a file of JSON spans); `OTEL_SERVICE_NAME`
overrides the service name (`fulfil-<service>`), and the SDK reads `OTEL_TRACES_SAMPLER`
and `OTEL_TRACES_SAMPLER_ARG` itself (default: parent-based, always on). Each service
has a tracer provider of its own (not the global one), so that services sharing a process
(tests, the micro-benchmarks) still report their own `service.name`.

Off (nothing configured) costs next to nothing: `ENABLED` is a module flag the hot path
reads before anything else, and while it is False no span is made and no header is
parsed. What a service still does when off is carry the trace context it was given
unchanged: the `traceparent` (and `tracestate`) of the record a handler consumes, of the
HTTP request a unit serves, of the effect or timer a worker runs, goes on the outbox rows
that unit writes. A trace from an upstream traced service is then not broken by an
untraced one: its spans are missing, the downstream spans still join the trace.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from contextvars import ContextVar
from typing import IO, TYPE_CHECKING, Any, Protocol

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
ORDER_ID = "fulfil.order_id"
EVENT_TYPE = "fulfil.event_type"

TraceHeaders = tuple[str, str | None]
"""A trace context as it travels: `traceparent` and `tracestate` (None when empty)."""

ENABLED = False
"""True once a service in this process traces; the hot path reads it first."""

INCOMING: ContextVar[TraceHeaders | None] = ContextVar("incoming_trace", default=None)
"""The trace context to carry through while tracing is off for this service (set by the
HTTP edge and the workers), read by the units made meanwhile."""


class TracingSettings(Protocol):
    """What tracing reads of a service's settings (shared.settings.ServiceSettings)."""

    @property
    def otel_exporter_otlp_endpoint(self) -> str | None: ...
    @property
    def otel_exporter_otlp_traces_endpoint(self) -> str | None: ...
    @property
    def otel_service_name(self) -> str | None: ...
    @property
    def traces_file(self) -> str | None: ...


_TRACERS: dict[str, Tracer] = {}
_PROVIDERS: dict[str, TracerProvider] = {}
_FILES: list[IO[str]] = []
_PROPAGATOR = TraceContextTextMapPropagator()


def configure(
    service: str, settings: TracingSettings, *, exporter: SpanExporter | None = None
) -> bool:
    """Sets up tracing for `service` from its settings (or onto `exporter`, which tests give
    with an in-memory one); False, and nothing set up, when nothing says where spans go."""
    global ENABLED
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    endpoint = traces_endpoint(settings)
    if exporter is None and endpoint is None and not settings.traces_file:
        return False
    shutdown(service)
    name = settings.otel_service_name or f"fulfil-{service}"
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: name}))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    if endpoint is not None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    if settings.traces_file:
        provider.add_span_processor(BatchSpanProcessor(_file_exporter(settings.traces_file)))
    _PROVIDERS[service] = provider
    _TRACERS[service] = provider.get_tracer("fulfil")
    ENABLED = True
    return True


def traces_endpoint(settings: TracingSettings) -> str | None:
    """Where OTLP/HTTP spans are posted: the traces endpoint as given, or the base endpoint
    with the signal's path, as the OpenTelemetry specification says."""
    if settings.otel_exporter_otlp_traces_endpoint:
        return settings.otel_exporter_otlp_traces_endpoint
    if settings.otel_exporter_otlp_endpoint:
        return settings.otel_exporter_otlp_endpoint.rstrip("/") + "/v1/traces"
    return None


def _file_exporter(path: str) -> SpanExporter:
    from opentelemetry.sdk.trace.export import ConsoleSpanExporter

    out = open(path, "a", encoding="utf-8")  # noqa: SIM115  (closed by `shutdown`)
    _FILES.append(out)
    return ConsoleSpanExporter(out=out, formatter=lambda span: span.to_json(indent=None) + "\n")


def shutdown(service: str | None = None) -> None:
    """Flushes and stops the tracing of `service` (of every service when None)."""
    global ENABLED
    for name in [service] if service is not None else list(_PROVIDERS):
        provider = _PROVIDERS.pop(name, None)
        _TRACERS.pop(name, None)
        if provider is not None:
            provider.shutdown()
    if not _PROVIDERS:
        ENABLED = False
        while _FILES:
            _FILES.pop().close()


def tracer(service: str) -> Tracer | None:
    """The tracer of `service`, None while it does not trace."""
    return _TRACERS.get(service) if ENABLED else None


def of_headers(headers: Sequence[tuple[str, bytes]]) -> TraceHeaders | None:
    """The trace context of a Kafka record's headers, None when it carries none."""
    parent: str | None = None
    state: str | None = None
    for name, value in headers:
        if name == TRACEPARENT:
            parent = value.decode("latin-1")
        elif name == TRACESTATE:
            state = value.decode("latin-1") or None
    return None if parent is None else (parent, state)


def of_http(headers: Sequence[tuple[bytes, bytes]]) -> TraceHeaders | None:
    """The trace context of an HTTP request's (ASGI) headers, None when it carries none."""
    parent: str | None = None
    state: str | None = None
    for name, value in headers:
        if name == b"traceparent":
            parent = value.decode("latin-1")
        elif name == b"tracestate":
            state = value.decode("latin-1") or None
    return None if parent is None else (parent, state)


def outgoing(carried: TraceHeaders | None = None) -> TraceHeaders | None:
    """The trace context the outbox rows of a unit made now carry: the current span's when
    there is one (sampled or not: a trace sampled out stays out downstream), else what was
    carried in (`carried`, or `INCOMING`) unchanged."""
    if ENABLED:
        span = trace.get_current_span()
        if span.get_span_context().is_valid:
            return current(span)
    return carried if carried is not None else INCOMING.get()


def current(span: Span) -> TraceHeaders:
    context = span.get_span_context()
    parent = f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"
    return parent, context.trace_state.to_header() or None


def parent_context(carried: TraceHeaders | None) -> Any:
    """The OpenTelemetry context whose parent is `carried` (a fresh one when None)."""
    if carried is None:
        return None
    headers = {TRACEPARENT: carried[0]}
    if carried[1]:
        headers[TRACESTATE] = carried[1]
    return _PROPAGATOR.extract(headers)


@contextlib.contextmanager
def continuing(
    service: str,
    name: str,
    carried: TraceHeaders | None,
    attributes: Mapping[str, Any] | None = None,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
) -> Iterator[Span | None]:
    """Runs the block in a span whose parent is `carried` when `service` traces; else the
    units the block makes carry `carried` through unchanged (`INCOMING`)."""
    traced = tracer(service)
    if traced is None:
        token = INCOMING.set(carried)
        try:
            yield None
        finally:
            INCOMING.reset(token)
        return
    with traced.start_as_current_span(
        name, context=parent_context(carried), kind=kind, attributes=attributes
    ) as span:
        yield span


@contextlib.contextmanager
def consumer_span(
    traced: Tracer,
    topic: str,
    partition: int,
    offset: int,
    headers: Sequence[tuple[str, bytes]],
    attributes: Mapping[str, Any],
    *,
    error: str | None = None,
) -> Iterator[Span]:
    """The current span of one record's processing, the child of the span that published it
    (the record's `traceparent`); `error`: the record failed so (it is set aside)."""
    with traced.start_as_current_span(
        f"process {topic}",
        context=parent_context(of_headers(headers)),
        kind=SpanKind.CONSUMER,
        attributes={
            "messaging.system": "kafka",
            "messaging.operation.type": "process",
            "messaging.destination.name": topic,
            "messaging.destination.partition.id": str(partition),
            "messaging.kafka.partition": partition,
            "messaging.kafka.offset": offset,
            **attributes,
        },
    ) as span:
        if error is not None:
            span.set_status(StatusCode.ERROR, error)
        yield span


def mark_order(order_id: str | None) -> None:
    """Names the order on the current span (a unit emitting an event about it)."""
    if ENABLED and order_id is not None:
        span = trace.get_current_span()
        if span.is_recording():
            span.set_attribute(ORDER_ID, order_id)
