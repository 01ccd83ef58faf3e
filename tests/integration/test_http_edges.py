"""The HTTP edge of all five services: integers bounded by their columns, a body that is
not JSON, methods a path does not have, all answered in the project's error shape (RFC 9457
problems); the request's correlation id carried onto the events it causes."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from shared.http import BIGINT_MAX, INT_MAX
from shared.runtime import Runtime
from tests.integration.order.support import order_body
from tests.support.events import published
from tests.support.http import OPS, SHOP
from tests.support.http_services import all_services
from tests.support.infra import Infra
from tests.support.kafka import TopicTail
from tests.support.services import base_url


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def services(infra: Infra) -> AsyncIterator[dict[str, Runtime]]:
    async with all_services(infra) as runtimes:
        yield runtimes


async def call(runtime: Runtime, method: str, path: str, **kwargs: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base_url(runtime), timeout=10) as http:
        return await http.request(method, path, **kwargs)


def line(**overrides: Any) -> dict[str, Any]:
    return {"sku": "TEE-RED-M", "name": "Cotton tee", "quantity": 1, "unit_price": 100, **overrides}


OUT_OF_RANGE = [
    ("logistics", "PUT", "/v1/stock/SKU-1", OPS, {"on_hand": INT_MAX + 1}, "on_hand"),
    (
        "logistics",
        "PUT",
        "/v1/stock/SKU-1",
        OPS,
        {"on_hand": 1, "low_stock_threshold": 2**31},
        "low_stock_threshold",
    ),
    (
        "order",
        "POST",
        "/v1/orders",
        SHOP,
        order_body(items=[line(quantity=2**40)]),
        "items[0].quantity",
    ),
    (
        "order",
        "POST",
        "/v1/orders",
        SHOP,
        order_body(items=[line(unit_price=BIGINT_MAX + 1)]),
        "items[0].unit_price",
    ),
    (
        "returns",
        "POST",
        "/v1/orders/ord_bounds/refund-requests",
        SHOP,
        {"reason": "damaged", "lines": [{"line_id": "l1", "quantity": INT_MAX + 1}]},
        "lines[0].quantity",
    ),
    (
        "returns",
        "POST",
        "/v1/orders/ord_bounds/refund-requests",
        SHOP,
        {"reason": "price_dropped", "amount": {"amount": BIGINT_MAX + 1, "currency": "CNY"}},
        "amount.amount",
    ),
]


@pytest.mark.parametrize(("service", "method", "path", "headers", "body", "field"), OUT_OF_RANGE)
async def test_an_integer_beyond_its_column_is_a_422_naming_the_field(
    services: dict[str, Runtime],
    service: str,
    method: str,
    path: str,
    headers: dict[str, str],
    body: dict[str, Any],
    field: str,
) -> None:
    response = await call(services[service], method, path, json=body, headers=headers)
    assert response.status_code == 422, response.text
    assert field in [f["field"] for f in response.json()["fields"]]


@pytest.mark.parametrize("service", ["payment", "notify"])
async def test_services_without_integer_inputs_document_none_unbounded(
    services: dict[str, Runtime], service: str
) -> None:
    document = (await call(services[service], "GET", "/openapi.json")).json()
    assert unbounded_integers(document) == []


@pytest.mark.parametrize("service", ["order", "logistics", "returns"])
async def test_every_integer_an_api_takes_documents_its_bound(
    services: dict[str, Runtime], service: str
) -> None:
    document = (await call(services[service], "GET", "/openapi.json")).json()
    assert unbounded_integers(document) == []


def unbounded_integers(document: dict[str, Any]) -> list[str]:
    """Integer properties of request bodies and parameters without a maximum."""
    found: list[str] = []
    schemas = document.get("components", {}).get("schemas", {})
    inputs = {name for name in schemas if not name.endswith("Out")}

    def walk(schema: Any, where: str) -> None:
        if isinstance(schema, dict):
            if schema.get("type") == "integer" and "maximum" not in schema:
                found.append(where)
            for key, value in schema.items():
                walk(value, f"{where}.{key}")
        elif isinstance(schema, list):
            for i, value in enumerate(schema):
                walk(value, f"{where}[{i}]")

    for name in inputs:
        walk(schemas[name], name)
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                walk(parameter.get("schema"), f"{method} {path} {parameter['name']}")
    return found


async def test_a_body_that_is_not_json_is_a_400_in_the_error_shape(
    services: dict[str, Runtime],
) -> None:
    response = await call(
        services["logistics"],
        "PUT",
        "/v1/stock/SKU-1",
        content=b"{not json",
        headers={**OPS, "Content-Type": "application/json"},
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_json"
    document = (await call(services["logistics"], "GET", "/openapi.json")).json()
    assert "400" in document["paths"]["/v1/stock/{sku}"]["put"]["responses"]


async def test_405_and_options_list_every_method_the_path_has(
    services: dict[str, Runtime],
) -> None:
    logistics = services["logistics"]
    refused = await call(logistics, "DELETE", "/v1/stock/SKU-1", headers=OPS)
    assert refused.status_code == 405
    assert refused.json()["error"] == "method_not_allowed"
    assert {"GET", "PUT"} <= set(refused.headers["Allow"].replace(" ", "").split(","))
    options = await call(logistics, "OPTIONS", "/v1/stock/SKU-1")
    assert options.status_code == 204
    assert {"GET", "PUT"} <= set(options.headers["Allow"].replace(" ", "").split(","))


@pytest.mark.parametrize("service", ["order", "payment", "logistics", "returns", "notify"])
async def test_every_route_documents_503_with_retry_after_and_the_error_body(
    services: dict[str, Runtime], service: str
) -> None:
    document = (await call(services[service], "GET", "/openapi.json")).json()
    error = {"$ref": "#/components/schemas/Problem"}
    operations = [
        (path, op)
        for path, ops in document["paths"].items()
        if path.startswith("/v1/")
        for op in ops.values()
    ]
    assert operations
    for path, op in operations:
        unavailable = op["responses"]["503"]
        assert "Retry-After" in unavailable["headers"], path
        for status, response in op["responses"].items():
            if status[0] in "45":
                content = response["content"]
                assert content["application/problem+json"]["schema"] == error, (path, status)
    assert "HTTPValidationError" not in document["components"]["schemas"]


@pytest.mark.parametrize("given", ["checkout-7f3a", None, "x" * 129])
async def test_the_correlation_id_of_a_request_is_echoed_and_on_the_event_it_causes(
    services: dict[str, Runtime], tail: TopicTail, given: str | None
) -> None:
    headers = {**SHOP} if given is None else {**SHOP, "X-Correlation-ID": given}
    response = await call(
        services["order"], "POST", "/v1/orders", json=order_body(), headers=headers
    )
    assert response.status_code == 201, response.text
    echoed = response.headers["X-Correlation-ID"]
    assert echoed == given if given == "checkout-7f3a" else len(echoed) == 36
    [record] = await published(tail, response.json()["order_id"], "OrderPlaced")
    assert record.json()["correlation_id"] == echoed


@pytest.mark.parametrize("service", ["order", "payment", "logistics", "returns", "notify"])
async def test_every_service_refuses_in_problems_and_asks_for_bearer_on_401(
    services: dict[str, Runtime], service: str
) -> None:
    missing = await call(services[service], "GET", "/v1/no-such-route")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["type"] == "about:blank" and missing.json()["status"] == 404
    document = (await call(services[service], "GET", "/openapi.json")).json()
    assert {"shopKey", "opsKey", "customerToken"} <= set(document["components"]["securitySchemes"])
    keyed = [
        (path, method)
        for path, ops in document["paths"].items()
        for method, op in ops.items()
        if {"401", "403"} <= set(op.get("responses", {}))
    ]
    assert keyed and all("security" in document["paths"][p][m] for p, m in keyed)
    path = next(p for p, m in keyed if m == "get")
    refused = await call(services[service], "GET", re.sub(r"\{[^}]+\}", "x1", path))
    assert refused.status_code == 401, (path, refused.text)
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert refused.json()["type"] == "https://fulfil.dev/problems/unauthorized"
