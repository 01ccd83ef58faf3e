"""CPU per call to an outside party, both ends in this process: the sandbox courier's
checkpoint posts (in passes of 8, the parcels its auto-advance moves at once, to a local
webhook), the sandbox provider's payment callbacks (passes of 20, to a local webhook) and
Stripe Checkout Sessions opened (passes of 20, the effects worker's batch, to a local
server speaking Stripe's API: tests/support/stripe_server.py).

    .venv/bin/python -m tests.bench.micro.outbound_calls [--before REV] [--calls 400] [--runs 5]

`after` is this tree's code (shared/http_client.py, aiohttp); `before` (with `--before`)
the same functions of the code at REV (shared/outbound.py's httpx client), run from a copy
of its `shared/` and `services/` in a child process, one run of each in turn. Prints the
median of the runs, CPU µs per call (process time, after a first pass that opens the
connections).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from deploy.local.ports import LOOPBACK, free_port
from services.logistics.carriers import sandbox as courier
from services.payment.providers.base import SessionRequest
from services.payment.providers.sandbox import SandboxProvider
from services.payment.providers.stripe import StripeProvider
from shared.contracts.envelope import Money
from shared.contracts.events.common import PaymentMethod
from tests.bench.micro.at_revision import figures_at
from tests.support.stripe_server import FaultyStripe

SECRET = "bench-webhook-secret-0123456789abcdef"
STRIPE_KEY = "sk_test_" + "0" * 24
COURIER_PASS = 8
PASS = 20
Call = Callable[[int], Awaitable[None]]


async def _webhook() -> tuple[web.AppRunner, str]:
    """A local webhook answering each post as logistics' and payment's do: 200, a small JSON."""

    async def taken(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({"received": True})

    app = web.Application()
    app.router.add_post("/{path:.*}", taken)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, LOOPBACK, port).start()
    return runner, f"http://{LOOPBACK}:{port}"


def _checkpoint(n: int) -> dict[str, Any]:
    return {
        "tracking_number": f"SF{n:012d}",
        "checkpoint_id": f"SF{n:012d}-1",
        "checkpoint_at": "2026-12-03T10:00:00+00:00",
        "city": "Hangzhou",
        "status": "in_transit",
        "description": "Parcel at the sorting hub",
    }


def _courier(base: str) -> tuple[Call, Callable[[], Awaitable[None]]]:
    """The sandbox courier's post, as the code imported makes it."""
    if hasattr(courier, "courier_client"):  # on its own kept-alive client
        http = courier.courier_client()

        async def post(n: int) -> None:
            answer = await courier.post_checkpoint(http, base, "sf", SECRET, _checkpoint(n))
            assert answer.status == 200

        return post, http.aclose
    from shared import outbound  # before: its shared httpx client

    async def post_before(n: int) -> None:
        response = await courier.post_checkpoint(base, "sf", SECRET, _checkpoint(n))
        assert response.status_code == 200

    return post_before, outbound.close


def _callbacks(base: str) -> tuple[Call, Callable[[], Awaitable[None]]]:
    """The sandbox provider's callback delivery, as the code imported makes it."""
    provider = SandboxProvider(
        secret=SECRET, public_url=base, webhook_url=f"{base}/v1/webhooks/sandbox"
    )
    body = json.dumps({"id": "evt_bench", "type": "payment.succeeded"}).encode()
    if hasattr(provider, "http"):

        async def deliver(_n: int) -> None:
            await provider._deliver(body)

        return deliver, provider.http.aclose
    from shared import outbound  # before: its shared httpx client

    async def deliver_before(_n: int) -> None:
        await provider._deliver(outbound.client(), body)

    return deliver_before, outbound.close


def _stripe(api_base: str) -> tuple[Call, Callable[[], Awaitable[None]]]:
    """Checkout Sessions opened through the provider (the same constructor before and now)."""
    provider = StripeProvider(
        api_key=STRIPE_KEY,
        webhook_secret="whsec_bench",
        success_url="https://shop.example/orders/{order_id}",
        api_base=api_base,
    )
    run = f"{time.time_ns():x}"

    async def open_session(n: int) -> None:
        request = SessionRequest(
            f"ord_{run}_{n}", f"pat_{run}_{n}", PaymentMethod.CARD,
            Money(amount=12_900, currency="CNY"), None,
        )  # fmt: skip
        session = await provider.create_session(request)
        assert session.checkout_url

    return open_session, provider._http.close_async


async def _measure(call: Call, calls: int, size: int) -> float:
    """CPU µs per call, after a first pass that opens the connections."""
    await asyncio.gather(*(call(-1 - n) for n in range(size)))
    start = time.process_time_ns()
    for first in range(0, calls, size):
        await asyncio.gather(*(call(n) for n in range(first, min(first + size, calls))))
    return (time.process_time_ns() - start) / calls / 1000


async def measure(calls: int) -> dict[str, float]:
    """One run of each kind of call, on fresh clients and servers."""
    figures: dict[str, float] = {}
    runner, base = await _webhook()
    try:
        for name, make, size in (
            ("courier checkpoint post", _courier, COURIER_PASS),
            ("sandbox payment callback", _callbacks, PASS),
        ):
            call, close = make(base)
            try:
                figures[name] = await _measure(call, calls, size)
            finally:
                await close()
    finally:
        await runner.cleanup()
    stripe = await FaultyStripe().start()
    call, close = _stripe(stripe.api_base)
    try:
        figures["Stripe session opened"] = await _measure(call, calls, PASS)
    finally:
        await close()
        await stripe.stop()
    return figures


def _before(rev: str, calls: int) -> dict[str, float]:
    """One run of the code at `rev`, from a copy of its `shared/` and `services/` in a
    child process (this tree's tests and deploy)."""
    args = ["--mode", "one", "--calls", str(calls)]
    return figures_at(rev, ("shared", "services"), "tests.bench.micro.outbound_calls", args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", help="a git revision on shared/outbound.py's httpx client")
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--mode", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mode == "one":
        print(json.dumps(asyncio.run(measure(args.calls))))
        return
    runs: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
    for _ in range(args.runs):
        if args.before:
            runs["before"].append(_before(args.before, args.calls))
        runs["after"].append(asyncio.run(measure(args.calls)))
    table = {mode: rows for mode, rows in runs.items() if rows}
    names = list(table["after"][0])
    title = f"CPU µs per call (median of {args.runs})"
    print(f"{title:30s}" + "".join(f"{mode:>10s}" for mode in table))
    for name in names:
        medians = [statistics.median(row[name] for row in rows) for rows in table.values()]
        print(f"{name:30s}" + "".join(f"{m:10.0f}" for m in medians))


if __name__ == "__main__":
    main()
