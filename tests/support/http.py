"""Calling a service's HTTP API as its callers do: the shop, operations and a customer."""

from __future__ import annotations

import httpx

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
