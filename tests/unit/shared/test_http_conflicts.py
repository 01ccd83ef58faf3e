"""A request that loses a deadlock or a serialization conflict is told to retry, not 500."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import APIRouter

from shared.http import create_http_app


async def _ready() -> dict[str, Any]:
    return {"database": {"ok": True}}


def _app(error: Exception) -> Any:
    router = APIRouter()

    @router.put("/v1/stock/{sku}")
    async def put(sku: str) -> dict[str, str]:
        raise error

    return create_http_app("logistics", readiness=_ready, routers=[router])


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.DeadlockDetectedError("deadlock detected"),
        asyncpg.SerializationError("could not serialize access"),
    ],
)
async def test_a_lost_conflict_is_a_503_with_retry_after(error: Exception) -> None:
    transport = httpx.ASGITransport(app=_app(error), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.put("/v1/stock/s1")
    assert response.status_code == 503 and response.headers["Retry-After"] == "1"
    assert response.json()["error"] == "busy"


async def test_a_bug_in_sql_stays_a_500() -> None:
    app = _app(asyncpg.UndefinedColumnError("column x does not exist"))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.put("/v1/stock/s1")
    assert response.status_code == 500
