"""What every request passes through: its correlation id, its metric, the docs pages."""

from __future__ import annotations

import contextlib
import importlib
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, Request
from prometheus_client.parser import text_string_to_metric_families

from shared.contracts.registry import SERVICES
from shared.http import NotFound
from shared.unit import REQUEST_CORRELATION_ID, Units
from tests.support.http import edge_app, in_process


def _app() -> Any:
    router = APIRouter(prefix="/v1")

    @router.get("/things/{thing_id}")
    async def read(thing_id: str, request: Request) -> dict[str, str | None]:
        if thing_id == "missing":
            raise NotFound("thing_not_found", "no such thing")
        if thing_id == "bug":
            raise RuntimeError("a bug")
        return {
            "header": request.headers.get("X-Correlation-ID"),
            "units": REQUEST_CORRELATION_ID.get(),
        }

    return edge_app(router)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with in_process(_app()) as client:
        yield client


async def test_a_correlation_id_is_echoed_and_seen_by_the_view_and_its_units(
    http: httpx.AsyncClient,
) -> None:
    response = await http.get("/v1/things/t1", headers={"X-Correlation-ID": "checkout-42"})
    assert response.headers["X-Correlation-ID"] == "checkout-42"
    assert response.json() == {"header": "checkout-42", "units": "checkout-42"}
    assert REQUEST_CORRELATION_ID.get() is None


@pytest.mark.parametrize("given", [None, "x" * 129, "tab\there", "caf\u00e9"])
async def test_a_missing_or_unusable_correlation_id_is_replaced_by_a_new_one(
    http: httpx.AsyncClient, given: str | None
) -> None:
    headers = {} if given is None else {"X-Correlation-ID": given.encode()}
    response = await http.get("/v1/things/t1", headers=headers)
    minted = response.headers["X-Correlation-ID"]
    assert re.fullmatch(r"[0-9a-f-]{36}", minted)
    assert response.json() == {"header": minted, "units": minted}


@pytest.mark.parametrize(("path", "status"), [("/v1/things/missing", 404), ("/v1/things/bug", 500)])
async def test_a_refusal_or_a_failure_echoes_the_correlation_id_too(
    http: httpx.AsyncClient, path: str, status: int
) -> None:
    response = await http.get(path, headers={"X-Correlation-ID": "c-1"})
    assert response.status_code == status and response.headers["X-Correlation-ID"] == "c-1"


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_the_docs_pages_load_only_what_the_service_serves(
    http: httpx.AsyncClient, page: str
) -> None:
    html = (await http.get(page)).text
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    urls += re.findall(r"""(?:url|spec-url)\s*[:=]\s*["']([^"']+)["']""", html)
    assert urls and all(url.startswith("/") and not url.startswith("//") for url in urls), urls
    assert "http://" not in html and "https://" not in html
    if page == "/docs":  # nor does Swagger UI call its validator's site
        assert '"validatorUrl": null' in html
    for url in urls:
        assert (await http.get(url)).status_code == 200, url


async def test_every_metric_is_named_fulfil_and_none_has_created_series(
    http: httpx.AsyncClient,
) -> None:
    for service in SERVICES:  # every service's own metrics registered too
        importlib.import_module(f"services.{service}.app")
    await http.get("/v1/things/t1")
    await http.get("/v1/things/missing")
    await http.get("/nowhere")
    await http.get("/v1/things/bug")
    await http.get("/docs")
    await http.get("/openapi.json")
    await http.get("/docs/assets/swagger-ui.css")
    text = (await http.get("/metrics")).text
    families = list(text_string_to_metric_families(text))
    names = [family.name for family in families]
    assert names and [n for n in names if not n.startswith("fulfil_")] == []
    samples = [s.name for family in families for s in family.samples]
    assert [s for s in samples if s.endswith("_created")] == []
    assert "fulfil_handler_duration_seconds" in names
    assert {"fulfil_notify_deliveries", "fulfil_payment_amount_mismatches"} <= set(names)
    routes = {
        s.labels["route"]
        for family in families
        if family.name == "fulfil_http_request_duration_seconds"
        for s in family.samples
    }
    assert {"/v1/things/{thing_id}", "/docs", "/openapi.json", "/docs/assets/{path}"} <= routes
    assert "unmatched" in routes and "/nowhere" not in routes
    failed = [
        s
        for family in families
        if family.name == "fulfil_http_request_duration_seconds"
        for s in family.samples
        if s.name.endswith("_count") and s.labels["status"] == "500"
    ]
    assert "/v1/things/{thing_id}" in [s.labels["route"] for s in failed]


def test_durations_are_named_duration_seconds() -> None:
    from prometheus_client import REGISTRY

    for family in REGISTRY.collect():
        if family.type == "histogram":
            assert family.name.endswith("_duration_seconds"), family.name


class _Pool:
    """Just enough of a pool for a unit that writes nothing."""

    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator[_Pool]:
        yield self

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        yield


async def test_a_unit_opened_while_answering_a_request_carries_its_correlation_id() -> None:
    units: Units[None] = Units("order", None)
    token = REQUEST_CORRELATION_ID.set("checkout-7")
    try:
        async with units.begin(_Pool()) as unit:  # type: ignore[arg-type]
            assert unit.correlation_id == "checkout-7"
        async with units.begin(_Pool(), correlation_id="given") as unit:  # type: ignore[arg-type]
            assert unit.correlation_id == "given"
    finally:
        REQUEST_CORRELATION_ID.reset(token)
    async with units.begin(_Pool()) as unit:  # type: ignore[arg-type]
        assert unit.correlation_id is None
