"""Calls to outside parties over HTTP: payment providers and couriers.

They share one pooled httpx client per event loop. Building a client loads the
TLS trust store, tens of milliseconds of CPU each time, and a client per call
also opens a new connection per call; under load that alone held a service to a
few dozen calls a second. The runtime closes the client when the service stops.
Each call still passes its own timeout.
"""

from __future__ import annotations

import asyncio

import httpx

# Idle connections are dropped before the usual server keep-alive (uvicorn: 5 s) ends,
# so a call never goes out on a connection the other side is closing.
_LIMITS = httpx.Limits(max_connections=200, max_keepalive_connections=50, keepalive_expiry=4)
_clients: dict[asyncio.AbstractEventLoop, httpx.AsyncClient] = {}


def client() -> httpx.AsyncClient:
    """The running loop's shared client, created on first use."""
    loop = asyncio.get_running_loop()
    shared = _clients.get(loop)
    if shared is None or shared.is_closed:
        shared = httpx.AsyncClient(limits=_LIMITS, timeout=10.0)
        _clients[loop] = shared
    return shared


async def close() -> None:
    """Closes the running loop's client (and forgets clients of loops that are gone)."""
    loop = asyncio.get_running_loop()
    for other in [known for known in _clients if known.is_closed()]:
        del _clients[other]
    shared = _clients.pop(loop, None)
    if shared is not None:
        await shared.aclose()
