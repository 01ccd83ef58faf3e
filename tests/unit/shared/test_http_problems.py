"""Every refusal of the shared HTTP edge is an RFC 9457 problem, in one shape."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import APIRouter, Request
from pydantic import BaseModel

from shared.http import (
    Conflict,
    NotFound,
    create_http_app,
    require_key,
)
from shared.openapi import errors
from tests.support.http import edge_app, in_process

KEY = "k-1"


class Body(BaseModel):
    quantity: int


def _app() -> Any:
    router = APIRouter(prefix="/v1")

    @router.get("/things/{thing_id}", responses=errors(401, 403, 404, 409))
    async def read(thing_id: str, request: Request) -> dict[str, str]:
        from pydantic import SecretStr

        require_key(request, SecretStr(KEY))
        if thing_id == "missing":
            raise NotFound("thing_not_found", "no such thing", field="thing_id")
        if thing_id == "taken":
            raise Conflict("wrong_state", "the thing is taken", state="taken", status="taken")
        if thing_id == "down":
            raise OSError("connection refused")
        if thing_id == "bug":
            raise RuntimeError("a bug")
        return {"thing_id": thing_id}

    @router.put("/things/{thing_id}", responses=errors(400, 422))
    async def put(thing_id: str, body: Body) -> dict[str, int]:
        return {"quantity": body.quantity}

    return edge_app(router)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with in_process(_app()) as client:
        yield client


PROBLEM = {"$ref": "#/components/schemas/Problem"}
JSON = {"Content-Type": "application/json"}
BEARER = {"Authorization": f"Bearer {KEY}"}
CASES = [
    ("GET", "/v1/things/t1", {}, None, 401, "unauthorized"),
    ("GET", "/v1/things/t1", {"Authorization": "Bearer nope"}, None, 403, "forbidden"),
    ("GET", "/v1/things/missing", BEARER, None, 404, "thing_not_found"),
    ("GET", "/v1/things/taken", BEARER, None, 409, "wrong_state"),
    ("PUT", "/v1/things/t1", {"Content-Type": "application/json"}, b"{no", 400, "invalid_json"),
    ("PUT", "/v1/things/t1", {}, b'{"quantity": "x"}', 422, "invalid_request"),
    ("PUT", "/v1/things/t1", JSON, b"\x8fr\x8f", 400, "invalid_json"),  # not even UTF-8
    ("GET", "/v1/things/down", BEARER, None, 503, "database_unavailable"),
    ("GET", "/v1/things/bug", BEARER, None, 500, "internal_error"),
]


@pytest.mark.parametrize(("method", "path", "headers", "body", "status", "code"), CASES)
async def test_every_refusal_is_a_problem_with_the_project_members_kept(
    http: httpx.AsyncClient,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes | None,
    status: int,
    code: str,
) -> None:
    response = await http.request(method, path, headers=headers, content=body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == f"https://fulfil.dev/problems/{code}"
    assert problem["status"] == status and problem["title"]
    assert problem["instance"] == path
    assert problem["detail"] == problem["message"] and problem["detail"]
    assert problem["error"] == code


async def test_field_errors_stay_extension_members(http: httpx.AsyncClient) -> None:
    invalid = (await http.put("/v1/things/t1", json={"quantity": "x"})).json()
    assert invalid["fields"] == [{"field": "quantity", "message": invalid["fields"][0]["message"]}]
    not_json = (await http.put("/v1/things/t1", content=b"{no", headers=JSON)).json()
    assert not_json["field"] == "body"
    missing = (await http.get("/v1/things/missing", headers=BEARER)).json()
    assert missing["field"] == "thing_id"


async def test_a_detail_named_like_a_standard_member_does_not_replace_it(
    http: httpx.AsyncClient,
) -> None:
    problem = (await http.get("/v1/things/taken", headers=BEARER)).json()
    assert problem["status"] == 409 and problem["state"] == "taken"


@pytest.mark.parametrize(
    ("method", "path", "status"), [("GET", "/v1/nowhere", 404), ("DELETE", "/v1/things/t1", 405)]
)
async def test_the_framework_refusals_are_problems_of_type_about_blank(
    http: httpx.AsyncClient, method: str, path: str, status: int
) -> None:
    response = await http.request(method, path)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "about:blank" and problem["status"] == status
    assert problem["instance"] == path and problem["detail"] and problem["error"]


async def test_every_401_names_the_bearer_scheme(http: httpx.AsyncClient) -> None:
    refused = await http.get("/v1/things/t1")
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    forbidden = await http.get("/v1/things/t1", headers={"Authorization": "Bearer nope"})
    assert "WWW-Authenticate" not in forbidden.headers


async def test_the_database_answers_keep_retry_after(http: httpx.AsyncClient) -> None:
    down = await http.get("/v1/things/down", headers=BEARER)
    assert down.headers["Retry-After"] == "5"


async def test_the_document_describes_problems_and_the_credentials(
    http: httpx.AsyncClient,
) -> None:
    document = (await http.get("/openapi.json")).json()
    schemas = document["components"]["schemas"]
    assert {"type", "title", "status", "detail", "instance", "error"} <= set(
        schemas["Problem"]["properties"]
    )
    assert "Error" not in schemas
    read = document["paths"]["/v1/things/{thing_id}"]["get"]
    for status in ("401", "403", "404", "409"):
        content = read["responses"][status]["content"]
        assert content == {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        }
    schemes = document["components"]["securitySchemes"]
    assert schemes["shopKey"] == {**schemes["shopKey"], "type": "http", "scheme": "bearer"}
    assert schemes["accessToken"]["in"] == "query"
    assert {"shopKey": []} in read["security"] and {"opsKey": []} in read["security"]
    assert "security" not in document["paths"]["/v1/things/{thing_id}"]["put"]
    assert "security" not in document["paths"]["/healthz"]["get"]


async def test_a_lost_database_conflict_is_still_busy() -> None:
    router = APIRouter()

    @router.get("/v1/x")
    async def x() -> None:
        raise asyncpg.DeadlockDetectedError("deadlock detected")

    async def ready() -> dict[str, Any]:
        return {}

    app = create_http_app("x", readiness=ready, routers=[router])
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/v1/x")
    assert response.status_code == 503
    assert response.json()["type"] == "https://fulfil.dev/problems/busy"
