"""Micro-benchmark of the shared HTTP edge without a network: CPU µs per request.

Calls a minimal `create_http_app` as an ASGI application directly (no server, no socket),
so what it measures is the edge itself: middleware, routing, validation, error handlers,
metrics. Figures are the process's CPU time per request (`time.process_time`), the
median of several rounds, for a GET, a POST /v1/orders-like JSON body, and a 404.

    python -m tests.bench.micro.http_asgi [--requests 5000] [--rounds 7]

Run it with PYTHONPATH at another checkout to measure that checkout's edge.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from typing import Any

from tests.bench.micro.http_edge import ORDER, bench_app

BODY = json.dumps(ORDER).encode()


async def call(app: Any, method: str, path: str, body: bytes = b"") -> int:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"bench"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def rounds(app: Any, method: str, path: str, body: bytes, n: int, k: int) -> list[float]:
    for _ in range(200):
        await call(app, method, path, body)
    out = []
    for _ in range(k):
        started = time.process_time()
        for _ in range(n):
            await call(app, method, path, body)
        out.append((time.process_time() - started) / n * 1e6)
    return out


async def main(n: int, k: int) -> None:
    app = bench_app()
    cases = [
        ("GET", "GET", "/v1/orders/ord_1", b""),
        ("POST", "POST", "/v1/orders", BODY),
        ("404", "GET", "/v1/nowhere", b""),
    ]
    for name, method, path, body in cases:
        figures = await rounds(app, method, path, body, n, k)
        print(
            f"{name:4} median {statistics.median(figures):6.1f} µs CPU/request"
            f"  (min {min(figures):.1f}, max {max(figures):.1f}, {k} rounds of {n})"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.rounds))
