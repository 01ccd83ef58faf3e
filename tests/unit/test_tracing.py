"""The trace context's journey without a broker or a database: a unit's outbox row, the
relay's record headers, the consumer's span and the rows its handler writes; and, with
tracing off, nothing made up and nothing parsed, only what came in carried through."""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import json
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from shared import outbox, tracing
from shared.consumer import MessageProcessor
from shared.contracts.envelope import Money
from shared.contracts.events.common import PaymentMethod
from shared.contracts.events.order import OrderPlaced
from shared.contracts.events.payment import PaymentRequested
from shared.edge import Edge
from shared.messages import Incoming, RawMessage
from shared.settings import ServiceSettings
from shared.unit import Unit, Units
from tests.support.events import line, placed
from tests.support.http import in_process

UPSTREAM = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
ORDER_ID = "ord_trace_1"


class FakeConnection:
    """Takes the consumer's inbox insert (every message is new) and the outbox rows."""

    def __init__(self) -> None:
        self.rows: list[outbox.Row] = []

    async def fetch(self, _sql: str, ids: list[str], *_: Any) -> list[dict[str, str]]:
        return [{"message_id": i} for i in ids]

    async def executemany(self, _sql: str, rows: list[outbox.Row]) -> None:
        self.rows.extend(rows)

    def transaction(self) -> contextlib.AbstractAsyncContextManager[None]:
        return contextlib.nullcontext()  # type: ignore[return-value]


class FakePool:
    def __init__(self) -> None:
        self.conn = FakeConnection()

    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator[FakeConnection]:
        yield self.conn


class FakeProducer:
    """Acknowledges every record at once and keeps its headers."""

    def __init__(self) -> None:
        self.headers: list[list[tuple[str, bytes]]] = []

    async def send(self, _topic: str, **record: Any) -> asyncio.Future[None]:
        self.headers.append(record["headers"])
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    spans = InMemorySpanExporter()
    settings = ServiceSettings(env="test")
    for service in ("order", "payment"):
        tracing.configure(service, settings, exporter=spans)
    yield spans
    tracing.shutdown()


def placed_order() -> OrderPlaced:
    return placed(line())


async def request_payment(unit: Unit[Any], incoming: Incoming[Any]) -> None:
    event = PaymentRequested(
        attempt_id="att_1",
        method=PaymentMethod.CARD,
        amount=Money(amount=12_900, currency="CNY"),
    )
    await unit.emit(event, order_id=incoming.order_id)


def payment(pool: FakePool) -> MessageProcessor:
    handlers = {OrderPlaced: request_payment}
    return MessageProcessor("payment", pool, handlers, Units("payment", None))  # type: ignore[arg-type]


def as_read(row: outbox.Row, row_id: int = 1) -> dict[str, Any]:
    """An outbox row as the relay reads it back."""
    names = ("topic", "key", "value", "headers", "event_id", "event_type", "traceparent")
    return {"id": row_id, **dict(zip(names, row, strict=False)), "tracestate": row[7]}


async def publish(row: outbox.Row, service: str) -> list[tuple[str, bytes]]:
    producer = FakeProducer()
    relay = outbox.OutboxRelay(None, "", producer, service=service)  # type: ignore[arg-type]
    await relay._publish([as_read(row)])  # type: ignore[list-item]
    return producer.headers[0]


def record(row: outbox.Row, headers: list[tuple[str, bytes]]) -> RawMessage:
    return RawMessage(row[0], 3, 42, row[1], row[2], tuple(headers))


def header_of(span: Any) -> str:
    context = span.context
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"


def trace_header(headers: list[tuple[str, bytes]] | tuple[tuple[str, bytes], ...]) -> list[bytes]:
    return [value for name, value in headers if name == "traceparent"]


async def test_the_trace_goes_from_a_request_to_the_row_the_record_and_the_next_row(
    exporter: InMemorySpanExporter,
) -> None:
    order_tracer = tracing.tracer("order")
    assert order_tracer is not None
    with order_tracer.start_as_current_span("POST /v1/orders", kind=SpanKind.SERVER) as request:
        unit = Units("order", None).on(None)  # type: ignore[arg-type]
        await unit.emit(placed_order(), order_id=ORDER_ID)
    row = unit.outgoing[0]
    assert row[6] == tracing.current(request)[0], "the row carries the request's span"

    headers = await publish(row, "order")
    pool = FakePool()
    assert await payment(pool).process(record(row, headers)) == "handled"

    spans = {span.name: span for span in exporter.get_finished_spans()}
    send, process = spans["send orders.v1"], spans["process orders.v1"]
    trace_id = request.get_span_context().trace_id
    assert {s.context.trace_id for s in spans.values() if s.context} == {trace_id}
    assert send.parent is not None and send.parent.span_id == request.get_span_context().span_id
    assert trace_header(headers) == [header_of(send).encode()]
    assert process.parent is not None and send.context is not None
    assert process.parent.span_id == send.context.span_id
    assert process.kind is SpanKind.CONSUMER
    assert process.attributes is not None
    assert process.attributes[tracing.ORDER_ID] == ORDER_ID
    assert process.attributes["messaging.kafka.offset"] == 42
    assert process.attributes["messaging.destination.name"] == "orders.v1"
    assert process.attributes["db.system"] == "postgresql"
    assert process.resource.attributes["service.name"] == "fulfil-payment"
    assert request.attributes is not None  # type: ignore[attr-defined]
    assert request.attributes[tracing.ORDER_ID] == ORDER_ID  # type: ignore[attr-defined]
    (next_row,) = pool.conn.rows
    assert process.context is not None
    assert next_row[6] == header_of(process), "the next row carries the consumer span"


async def test_with_tracing_off_an_incoming_trace_is_carried_through_unchanged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert not tracing.ENABLED
    monkeypatch.setattr(tracing, "parent_context", _never)  # nothing is parsed into a context
    monkeypatch.setattr(trace, "get_current_span", _never)
    unit = Units("order", None).on(None)  # type: ignore[arg-type]
    await unit.emit(placed_order(), order_id=ORDER_ID)
    row = unit.outgoing[0]
    traced_row: outbox.Row = (*row[:6], UPSTREAM, "vendor=1")  # written by a traced upstream

    pool = FakePool()
    headers = await publish(traced_row, "order")
    assert trace_header(headers) == [UPSTREAM.encode()]
    assert ("tracestate", b"vendor=1") in headers
    assert await payment(pool).process(record(traced_row, headers)) == "handled"
    (next_row,) = pool.conn.rows
    assert next_row[6:] == (UPSTREAM, "vendor=1"), "the record's context goes on unchanged"


async def test_with_tracing_off_no_trace_header_is_invented(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tracing, "parent_context", _never)
    unit = Units("order", None).on(None)  # type: ignore[arg-type]
    await unit.emit(placed_order(), order_id=ORDER_ID)
    row = unit.outgoing[0]
    assert row[6:] == (None, None)
    headers = await publish(row, "order")
    assert trace_header(headers) == []
    assert "tracestate" not in dict(headers)
    pool = FakePool()
    assert await payment(pool).process(record(row, headers)) == "handled"
    assert pool.conn.rows[0][6:] == (None, None)


async def test_an_untraced_service_beside_a_traced_one_makes_no_span_and_carries_through(
    exporter: InMemorySpanExporter,
) -> None:
    unit = Units("logistics", None).on(None)  # type: ignore[arg-type]
    assert unit.trace is None
    with tracing.continuing("logistics", "timer ship", (UPSTREAM, None)) as span:
        assert span is None
        carried = Units("logistics", None).on(None)  # type: ignore[arg-type]
    assert carried.trace == (UPSTREAM, None)
    assert exporter.get_finished_spans() == ()


async def test_a_worker_continues_the_trace_that_recorded_its_effect(
    exporter: InMemorySpanExporter,
) -> None:
    with tracing.continuing("payment", "effect payment_session", (UPSTREAM, None)) as span:
        assert span is not None
        unit = Units("payment", None).on(None)  # type: ignore[arg-type]
    (finished,) = exporter.get_finished_spans()
    assert finished.context is not None and finished.parent is not None
    assert f"{finished.context.trace_id:032x}" == UPSTREAM.split("-")[1]
    assert f"{finished.parent.span_id:016x}" == UPSTREAM.split("-")[2]
    assert unit.trace == (header_of(finished), None), "its events continue that trace"


def test_tracing_is_off_unless_the_settings_say_where_spans_go() -> None:
    settings = ServiceSettings(env="test")
    assert tracing.configure("order", settings) is False
    assert not tracing.ENABLED and tracing.tracer("order") is None
    base = ServiceSettings(env="test", otel_exporter_otlp_endpoint="http://collector:4318/")
    assert tracing.traces_endpoint(base) == "http://collector:4318/v1/traces"
    full = ServiceSettings(
        env="test",
        otel_exporter_otlp_endpoint="http://collector:4318",
        otel_exporter_otlp_traces_endpoint="http://traces:4318/custom",
    )
    assert tracing.traces_endpoint(full) == "http://traces:4318/custom"


def test_the_standard_variables_configure_tracing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "shop-orders")
    settings = ServiceSettings(env="test")
    assert settings.otel_exporter_otlp_endpoint == "http://collector:4318"
    try:
        assert tracing.configure("order", settings) is True
        provider = tracing._PROVIDERS["order"]
        assert provider.resource.attributes["service.name"] == "shop-orders"
    finally:
        tracing.shutdown()
    assert not tracing.ENABLED


def _never(*_: Any, **__: Any) -> Any:
    raise AssertionError("tracing is off: nothing may be parsed or looked up")


def edge_app(seen: list[tracing.TraceHeaders | None], service: str = "order") -> Edge:
    """An HTTP edge before an app whose requests each open a unit."""

    async def app(_scope: Any, _receive: Any, send: Any) -> None:
        seen.append(Units(service, None).on(None).trace)  # type: ignore[arg-type]
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    return Edge(app, service=service)


async def test_with_tracing_off_the_edge_carries_a_request_trace_to_its_units() -> None:
    seen: list[tracing.TraceHeaders | None] = []
    async with in_process(edge_app(seen)) as http:
        await http.post("/v1/orders", headers={"traceparent": UPSTREAM})
        await http.post("/v1/orders")
    assert seen == [(UPSTREAM, None), None]


async def test_a_traced_edge_makes_the_request_a_server_span_under_its_caller(
    exporter: InMemorySpanExporter,
) -> None:
    seen: list[tracing.TraceHeaders | None] = []
    async with in_process(edge_app(seen)) as http:
        await http.post("/v1/orders", headers={"traceparent": UPSTREAM})
    (server,) = exporter.get_finished_spans()
    assert server.kind is SpanKind.SERVER and server.parent is not None
    assert f"{server.parent.span_id:016x}" == UPSTREAM.split("-")[2]
    assert server.attributes is not None
    assert server.attributes["http.response.status_code"] == 201
    assert seen == [(header_of(server), None)], "the request's units write its span"


def test_a_traces_file_gets_one_json_span_a_line(tmp_path: Path) -> None:
    spans = tmp_path / "spans.jsonl"
    assert tracing.configure("order", ServiceSettings(env="test", traces_file=str(spans)))
    try:
        with tracing.continuing("order", "timer payment_window", (UPSTREAM, None)):
            pass
    finally:
        tracing.shutdown()  # flushes the batch
    (line_,) = spans.read_text().splitlines()
    written = json.loads(line_)
    assert written["name"] == "timer payment_window"
    assert written["context"]["trace_id"] == "0x" + UPSTREAM.split("-")[1]
    assert written["resource"]["attributes"]["service.name"] == "fulfil-order"


class _Collector(http.server.BaseHTTPRequestHandler):
    """An OTLP/HTTP collector's traces endpoint: keeps what is posted, answers 200."""

    received: ClassVar[list[tuple[str, str, bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, self.headers["Content-Type"], body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        return None


def test_spans_are_exported_over_otlp_to_the_configured_collector() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        settings = ServiceSettings(env="test", otel_exporter_otlp_endpoint=endpoint)
        assert tracing.configure("payment", settings)
        with tracing.continuing("payment", "effect payment_session", (UPSTREAM, None)):
            pass
        tracing.shutdown()  # flushes the batch to the collector
    finally:
        server.shutdown()
    ((path, content_type, body),) = _Collector.received
    assert (path, content_type) == ("/v1/traces", "application/x-protobuf")
    request = ExportTraceServiceRequest.FromString(body)
    (resource_spans,) = request.resource_spans
    names = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
    assert names["service.name"] == "fulfil-payment"
    (span,) = resource_spans.scope_spans[0].spans
    assert span.name == "effect payment_session"
    assert span.trace_id.hex() == UPSTREAM.split("-")[1]


async def test_a_trace_sampled_out_stays_out_downstream(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_off")
    spans = InMemorySpanExporter()
    tracing.configure("order", ServiceSettings(env="test"), exporter=spans)
    try:
        with tracing.continuing("order", "POST /v1/orders", None) as span:
            assert span is not None and not span.is_recording()
            unit = Units("order", None).on(None)  # type: ignore[arg-type]
            await unit.emit(placed_order(), order_id=ORDER_ID)
    finally:
        tracing.shutdown()
    assert spans.get_finished_spans() == ()
    traceparent = unit.outgoing[0][6]
    assert traceparent is not None
    assert int(traceparent.split("-")[3], 16) & 0x01 == 0, "its sampled flag is off"


async def test_a_poison_record_ends_its_trace_in_an_error_span_with_the_reason(
    exporter: InMemorySpanExporter,
) -> None:
    pool = FakePool()
    poison = RawMessage("orders.v1", 0, 7, b"k", b"not json", (("traceparent", UPSTREAM.encode()),))
    processor = payment(pool)
    settled: list[str] = []

    async def set_aside(_raw: RawMessage, poison: Any, *, attempts: int) -> str:
        settled.append(poison.reason)
        return "dead_lettered"

    processor._settle_poison = set_aside  # type: ignore[method-assign]
    assert await processor.process(poison) == "dead_lettered"
    (span,) = exporter.get_finished_spans()
    assert span.parent is not None and f"{span.parent.span_id:016x}" == UPSTREAM.split("-")[2]
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes["fulfil.dead_letter.reason"] == settled[0] == "undecodable"


async def test_probes_and_scrapes_make_no_trace(exporter: InMemorySpanExporter) -> None:
    seen: list[tracing.TraceHeaders | None] = []
    async with in_process(edge_app(seen)) as http:
        for path in ("/healthz", "/readyz", "/metrics"):
            await http.get(path)
        await http.get("/v1/orders/ord_1")
    assert [s.name for s in exporter.get_finished_spans()] == ["GET unmatched"]
