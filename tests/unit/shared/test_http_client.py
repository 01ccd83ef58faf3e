"""The client calls to outside parties go through: what goes out, what an answer or its
absence reads as, and what an outside party says about when to ask again."""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web

from deploy.local.ports import LOOPBACK, free_port
from shared.http_client import KeptAlive, Unreachable, retry_after

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def test_retry_after_is_seconds_or_a_date() -> None:
    assert retry_after("2") == 2.0
    in_a_minute = email.utils.formatdate(time.time() + 60, usegmt=True)
    assert 55 <= (retry_after(in_a_minute) or 0) <= 60
    assert retry_after("soon") is None and retry_after(None) is None


def test_a_date_in_the_past_means_at_once() -> None:
    assert retry_after(email.utils.formatdate(time.time() - 60, usegmt=True)) == 0.0
    assert retry_after("-3") == 0.0


@contextlib.asynccontextmanager
async def server(handler: Handler) -> AsyncIterator[str]:
    """A local HTTP server answering every path with `handler`; its base URL."""
    app = web.Application()
    app.router.add_route("*", "/{path:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, LOOPBACK, port).start()
    try:
        yield f"http://{LOOPBACK}:{port}"
    finally:
        await runner.cleanup()


async def test_a_form_goes_out_as_a_form_and_the_answer_is_read_whole() -> None:
    seen: list[tuple[str, str | None, bytes]] = []

    async def echo(request: web.Request) -> web.Response:
        seen.append((request.method, request.headers.get("Content-Type"), await request.read()))
        return web.json_response({"ok": True}, status=201, headers={"retry-after": "3"})

    http = KeptAlive(timeout=5, concurrency=2)
    try:
        async with server(echo) as base:
            answer = await http.request("POST", f"{base}/x", data={"a": "1 2", "b": "é"})
    finally:
        await http.aclose()
    assert seen == [("POST", "application/x-www-form-urlencoded", b"a=1+2&b=%C3%A9")]
    assert (answer.status, answer.json()) == (201, {"ok": True})
    assert answer.headers["Retry-After"] == answer.header("RETRY-AFTER") == "3", "any case"


async def test_no_answer_in_time_is_unreachable_and_may_have_been_sent() -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(2)
        return web.Response()

    http = KeptAlive(timeout=0.2, concurrency=1)
    try:
        async with server(slow) as base:
            with pytest.raises(Unreachable) as failed:
                await http.request("POST", f"{base}/x", data=b"{}")
    finally:
        await http.aclose()
    assert failed.value.timed_out and failed.value.sent


async def test_a_connection_refused_is_unreachable_and_was_not_sent() -> None:
    http = KeptAlive(timeout=2, concurrency=1)
    try:
        with pytest.raises(Unreachable) as failed:
            await http.request("GET", f"http://{LOOPBACK}:{free_port()}/")
    finally:
        await http.aclose()
    assert not failed.value.sent and not failed.value.timed_out
    assert failed.value.kind == "ClientConnectorError"
