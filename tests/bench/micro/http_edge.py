"""Micro-benchmark of the HTTP edge: requests/s and server CPU per request.

Starts a minimal `create_http_app` (the shared edge: error handlers, middleware, metrics)
on uvicorn in a subprocess, drives it with httpx keep-alive clients and prints, per
scenario, the requests per second and the CPU microseconds the server process spent per
request (user + system, from /proc). No database and no broker: only the edge.

    python -m tests.bench.micro.http_edge                   # the runtime's settings
    python -m tests.bench.micro.http_edge --http h11 --loop asyncio   # the old stack
    python -m tests.bench.micro.http_edge --json            # one line of JSON (farm-bench)

Run it with PYTHONPATH at another checkout to measure that checkout's edge.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
ORDER = {
    "customer_id": "cus_bench",
    "currency": "EUR",
    "items": [
        {"sku": "TEE-RED-M", "name": "Cotton tee", "quantity": 2, "unit_price": 1999},
        {"sku": "MUG-BLUE", "name": "Mug", "quantity": 1, "unit_price": 899},
    ],
    "contact": {"email": "someone@example.com", "phone": "+491701234567"},
    "address": {"line1": "Hauptstr. 1", "city": "Berlin", "postal_code": "10115", "country": "DE"},
}


class Line(BaseModel):
    sku: str
    name: str
    quantity: int
    unit_price: int


class Contact(BaseModel):
    email: str
    phone: str


class Address(BaseModel):
    line1: str
    city: str
    postal_code: str
    country: str


class Placed(BaseModel):
    """The shape of POST /v1/orders, without its rules."""

    customer_id: str
    currency: str
    items: list[Line]
    contact: Contact
    address: Address


def bench_app() -> Any:
    """The shared edge with a GET and a POST /v1/orders-like route."""
    from fastapi import APIRouter

    from shared.http import create_http_app

    router = APIRouter(prefix="/v1")

    @router.get("/orders/{order_id}")
    async def read(order_id: str) -> dict[str, Any]:
        return {"order_id": order_id, "status": "placed", "total": {"amount": 4897}}

    @router.post("/orders", status_code=201)
    async def place(body: Placed) -> dict[str, Any]:
        return {"order_id": "ord_1", "status": "placed", "lines": len(body.items)}

    async def ready() -> dict[str, Any]:
        return {}

    app = create_http_app("bench", readiness=ready, routers=[router])
    print(
        f"serving the edge of {Path(sys.modules['shared.http'].__file__ or '').parent.parent}",
        file=sys.stderr,
    )
    return app


def serve(port: int, http: str, loop: str) -> None:
    """The server side: `bench_app` on uvicorn with the given parser and loop."""
    import uvicorn

    app = bench_app()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        lifespan="off",
        loop=loop,
        http=http,
    )
    server = uvicorn.Server(config)
    if loop == "uvloop":
        import uvloop

        uvloop.run(server.serve())
    else:
        asyncio.run(server.serve())


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


async def drive(base: str, pid: int, method: str, requests: int, clients: int) -> dict[str, float]:
    async def one_client(client: httpx.AsyncClient, count: int) -> None:
        for i in range(count):
            if method == "GET":
                response = await client.get(f"/v1/orders/ord_{i}")
            else:
                response = await client.post("/v1/orders", json=ORDER)
            assert response.status_code < 300, response.text

    limits = httpx.Limits(max_keepalive_connections=1, max_connections=1)
    pool = [httpx.AsyncClient(base_url=base, limits=limits, timeout=30) for _ in range(clients)]
    try:
        await asyncio.gather(*(one_client(c, 50) for c in pool))  # warm up
        cpu, started = cpu_seconds(pid), time.perf_counter()
        await asyncio.gather(*(one_client(c, requests // clients) for c in pool))
        elapsed, used = time.perf_counter() - started, cpu_seconds(pid) - cpu
    finally:
        for client in pool:
            await client.aclose()
    done = requests // clients * clients
    return {"requests_per_s": done / elapsed, "cpu_us_per_request": used / done * 1e6}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def main(args: argparse.Namespace) -> dict[str, Any]:
    port = free_port()
    command = [sys.executable, "-m", "tests.bench.micro.http_edge", "--serve", str(port)]
    server = subprocess.Popen(
        [*command, "--http", args.http, "--loop", args.loop],
        env=os.environ,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base) as probe:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if (await probe.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise
                await asyncio.sleep(0.05)
        results = {}
        for method in ("GET", "POST"):
            results[method] = await drive(base, server.pid, method, args.requests, args.clients)
        return {"http": args.http, "loop": args.loop, **results}
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--http", default="httptools")
    parser.add_argument("--loop", default="uvloop")
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parsed = parser.parse_args()
    if parsed.serve:
        serve(parsed.serve, parsed.http, parsed.loop)
        sys.exit(0)
    figures = asyncio.run(main(parsed))
    if parsed.json:
        print(json.dumps(figures))
    else:
        for method in ("GET", "POST"):
            f = figures[method]
            print(
                f"{figures['http']}/{figures['loop']} {method:4}  "
                f"{f['requests_per_s']:7.0f} req/s  {f['cpu_us_per_request']:6.0f} µs CPU/request"
            )
