"""One order is one trace across the five services: the HTTP request that places it, its
outbox row, the Kafka record, each consumer and what it writes next. The services run in
this process, each tracing onto one in-memory exporter under its own `service.name`."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import asyncpg
import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from deploy.local.ports import free_ports
from deploy.local.sinks import Sinks
from shared import tracing
from shared.runtime import Runtime
from tests.support.http import OPS, SHOP
from tests.support.http_services import BUILDERS
from tests.support.infra import Infra
from tests.support.polling import eventually
from tests.support.services import base_url, running, settings_for

SKU = "TRACE-TEE"
SERVICES = ("order", "payment", "logistics", "returns", "notify")
OVERRIDES: dict[str, dict[str, Any]] = {
    "payment": {"effects_poll_seconds": 0.2},
    "logistics": {"sandbox_auto_advance_seconds": 0},
    "notify": {"quiet_hours_start": "00:00", "quiet_hours_end": "00:00"},
}


@pytest.fixture
async def traced(infra: Infra) -> AsyncIterator[tuple[dict[str, Runtime], InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    smtp_port, http_port = free_ports(2)
    sinks = await Sinks(smtp_port, http_port).start()
    async with AsyncExitStack() as stack:
        stack.push_async_callback(sinks.stop)
        runtimes: dict[str, Runtime] = {}
        for name in SERVICES:
            build, settings_cls = BUILDERS[name]
            extra = dict(OVERRIDES.get(name, {}))
            if name == "notify":
                extra |= {"smtp_port": sinks.smtp_port, "sms_gateway_url": f"{sinks.http_url}/sms"}
            dsn = await infra.create_database(f"trace_{name}")
            settings = settings_for(settings_cls, infra.bootstrap, dsn, **extra)
            tracing.configure(name, settings, exporter=exporter)
            stack.callback(tracing.shutdown, name)
            runtimes[name] = await stack.enter_async_context(running(build(settings)))
        yield runtimes, exporter


def service_of(span: ReadableSpan) -> str:
    return str(span.resource.attributes["service.name"]).removeprefix("fulfil-")


def in_trace(exporter: InMemorySpanExporter, trace_id: int) -> list[ReadableSpan]:
    return [
        s
        for s in exporter.get_finished_spans()
        if s.context is not None and s.context.trace_id == trace_id
    ]


async def test_one_order_is_one_trace_across_the_five_services(
    traced: tuple[dict[str, Runtime], InMemorySpanExporter],
) -> None:
    runtimes, exporter = traced
    urls = {name: base_url(runtime) for name, runtime in runtimes.items()}
    async with httpx.AsyncClient(timeout=30) as http:
        stock = {"on_hand": 100, "low_stock_threshold": 0}
        put = await http.put(f"{urls['logistics']}/v1/stock/{SKU}", json=stock, headers=OPS)
        put.raise_for_status()
        exporter.clear()
        placed = await http.post(
            f"{urls['order']}/v1/orders",
            json=order_body(),
            headers={**SHOP, "Idempotency-Key": uuid.uuid4().hex},
        )
        placed.raise_for_status()
        order_id = placed.json()["order_id"]
        server = next(
            s
            for s in exporter.get_finished_spans()
            if s.name == "POST /v1/orders" and service_of(s) == "order"
        )
        assert server.attributes is not None
        assert server.attributes[tracing.ORDER_ID] == order_id
        assert server.context is not None
        trace_id = server.context.trace_id

        async def five_services() -> set[str]:
            found = {service_of(s) for s in in_trace(exporter, trace_id)}
            return found if found >= set(SERVICES) else set()

        await eventually(five_services, timeout=30, what="spans of all five services")

        checkout = await eventually(
            lambda: value(
                runtimes["payment"],
                "SELECT checkout_url FROM attempts WHERE order_id = $1 AND status = 'open'",
                order_id,
            ),
            timeout=30,
            what="the checkout page",
        )
        paid = await http.post(f"{checkout.rstrip('/')}/complete", json={"outcome": "succeed"})
        paid.raise_for_status()
        await eventually(
            lambda: value(
                runtimes["order"],
                "SELECT paid_at IS NOT NULL FROM orders WHERE order_id = $1",
                order_id,
            ),
            timeout=30,
            what="the order paid",
        )

    placement = in_trace(exporter, trace_id)
    consumed = [s for s in placement if s.name.startswith("process ")]
    assert {service_of(s) for s in consumed} >= {"payment", "logistics", "returns", "notify"}
    for span in consumed:
        assert span.attributes is not None
        assert span.attributes[tracing.ORDER_ID] == order_id
        assert span.attributes["messaging.system"] == "kafka"
        assert span.attributes["db.system"] == "postgresql"
        assert span.parent is not None, "a consumer span is the child of the record's publishing"
    sent = {s.context.span_id: s for s in placement if s.name.startswith("send ") and s.context}
    assert all(s.parent is not None and s.parent.span_id in sent for s in consumed)
    effects = [s for s in placement if s.name.startswith("effect ")]
    assert effects and all(service_of(s) == "payment" for s in effects), (
        "the checkout session is opened in the trace that decided it"
    )

    # The provider's webhook brings no trace of ours: paying is a trace of its own, from the
    # webhook through payment's outbox to the services that hear of the payment.
    webhook = [
        s
        for s in exporter.get_finished_spans()
        if service_of(s) == "payment" and s.name.startswith("POST ") and "webhook" in s.name
    ]
    assert webhook, "the webhook request is traced"
    assert webhook[0].context is not None
    paying = in_trace(exporter, webhook[0].context.trace_id)
    assert {service_of(s) for s in paying} >= {"payment", "order"}
    assert all(
        s.attributes is not None and s.attributes[tracing.ORDER_ID] == order_id
        for s in paying
        if s.name.startswith("process ")
    )


async def value(runtime: Runtime, sql: str, *args: Any) -> Any:
    conn: asyncpg.Connection
    async with runtime.db.acquire() as conn:
        return await conn.fetchval(sql, *args)


def order_body() -> dict[str, Any]:
    return {
        "items": [{"sku": SKU, "name": "Tee", "quantity": 1, "unit_price": 7_900}],
        "currency": "CNY",
        "customer_id": f"cus_{uuid.uuid4().hex[:8]}",
        "contact": {"phone": "+86 138 0013 8000", "email": "li.wei@example.com"},
        "address": {"recipient": "Li", "line1": "1 Rd", "city": "Shanghai", "country": "CN"},
        "locale": "zh-CN",
        "payment_method": "wallet",
    }
