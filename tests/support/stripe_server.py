"""A local server that speaks Stripe's API for Checkout Sessions and refunds, and fails as told.

For the fault tests: stripe-mock answers every call, this one answers 500 with Stripe's
error body, 429 with Retry-After, never in time, or does the work and loses the answer.
Like Stripe, a repeated Idempotency-Key gets the first answer again and does nothing twice.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from deploy.local.ports import LOOPBACK, free_port


@dataclass(frozen=True)
class Seen:
    path: str
    idempotency_key: str | None
    at: float  # monotonic
    answered: str  # what it was told to do


@dataclass
class FaultyStripe:
    hang_seconds: float = 3.0  # longer than the client waits
    # per path: "500", "429", "hang", "lost", then "ok"; a fault meant for a refund is met
    # only by a refund, never by a session opened or looked up meanwhile
    script: dict[str, list[str]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    made: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> what was created
    _runner: web.AppRunner | None = None
    port: int = 0

    @property
    def api_base(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def fail_next(self, path: str, *how: str) -> None:
        self.script.setdefault(path, []).extend(how)

    def calls(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]

    def refunds(self) -> list[dict[str, Any]]:
        return [m for m in self.made.values() if m["object"] == "refund"]

    async def start(self) -> FaultyStripe:
        app = web.Application()
        app.router.add_post("/v1/checkout/sessions", self._handle)
        app.router.add_post("/v1/refunds", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        self.port = free_port()
        await web.TCPSite(self._runner, LOOPBACK, self.port).start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        key = request.headers.get("Idempotency-Key")
        waiting = self.script.get(request.path)
        how = waiting.pop(0) if waiting else "ok"
        self.seen.append(Seen(request.path, key, time.monotonic(), how))
        if how == "500":
            return _error(500, "api_error", None, "An unknown error occurred")
        if how == "429":
            return _error(
                429,
                "invalid_request_error",
                "rate_limit",
                "Too many requests",
                {"Retry-After": "1"},
            )
        if how == "hang":
            await asyncio.sleep(self.hang_seconds)
            return _error(500, "api_error", None, "too late")
        if key is not None and key in self.made:  # Stripe replays the first answer
            return web.json_response(self.made[key], headers={"Idempotent-Replayed": "true"})
        made = _create(request.path, dict(await request.post()), len(self.made) + 1)
        if key is not None:
            self.made[key] = made
        if how == "lost":  # done, but the answer never reaches the caller in time
            await asyncio.sleep(self.hang_seconds)
        return web.json_response(made, headers={"Request-Id": f"req_{len(self.seen)}"})


def _create(path: str, form: dict[str, Any], number: int) -> dict[str, Any]:
    if path == "/v1/refunds":
        return {
            "id": f"re_fault{number:06d}",
            "object": "refund",
            "amount": int(form["amount"]),
            "currency": "cny",
            "payment_intent": form.get("payment_intent"),
            "status": "succeeded",
            "metadata": {"refund_id": form.get("metadata[refund_id]")},
        }
    session_id = f"cs_test_fault{number:06d}"
    return {
        "id": session_id,
        "object": "checkout.session",
        "url": f"https://checkout.stripe.com/c/pay/{session_id}",
        "status": "open",
        "payment_status": "unpaid",
        "client_reference_id": form.get("client_reference_id"),
        "metadata": {"order_id": form.get("metadata[order_id]")},
    }


def _error(
    status: int, kind: str, code: str | None, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    """Stripe's error body: {"error": {"type", "code", "message"}}."""
    body: dict[str, Any] = {"type": kind, "message": message}
    if code:
        body["code"] = code
    return web.json_response({"error": body}, status=status, headers=headers)
