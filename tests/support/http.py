"""Calling a service's HTTP API as its callers do: the shop, operations and a customer."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI

from shared.http import create_http_app
from shared.runtime import Runtime
from shared.tokens import order_token
from tests.support.services import base_url

SHOP = {"Authorization": "Bearer dev-shop-key"}
OPS = {"Authorization": "Bearer dev-ops-key"}
ORDER_TOKEN_SECRET = "dev-order-token-secret"


def client(runtime: Runtime) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base_url(runtime), timeout=10)


def customer(order_id: str, secret: str = ORDER_TOKEN_SECRET) -> dict[str, str]:
    """The header of a customer holding the order's access token (from its order link)."""
    return {"Authorization": f"Bearer {order_token(secret, order_id)}"}


@contextlib.asynccontextmanager
async def in_process(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an ASGI app called in this process (no server), seeing its 500s as a
    caller would rather than as exceptions."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client


async def _ready() -> dict[str, Any]:
    return {}


def edge_app(*routers: APIRouter) -> FastAPI:
    """The shared HTTP edge around `routers`, with no service behind it (always ready)."""
    return create_http_app("things", readiness=_ready, routers=list(routers))
