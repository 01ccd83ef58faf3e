"""The load's HTTP client keeps its connections, sends JSON and reports what it got."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from deploy.demo.shop import Edges, KeepAliveClient, Shop, ShopError, order_body


@dataclass
class Server:
    """A minimal HTTP/1.1 server on a loopback port, answering every request with `status`
    and the request's body echoed; it counts the connections it accepted."""

    status: int = 201
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)
    port: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                body = await reader.readexactly(length)
                self.requests.append(head + body)
                answer = json.dumps({"got": json.loads(body or b"null")}).encode()
                writer.write(
                    b"HTTP/1.1 %d X\r\ncontent-type: application/json\r\n"
                    b"content-length: %d\r\n\r\n%s" % (self.status, len(answer), answer)
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    state = Server()
    listening = await asyncio.start_server(state.handle, "127.0.0.1", 0)
    state.port = listening.sockets[0].getsockname()[1]
    async with listening:
        yield state
        listening.close()


def edges(port: int) -> Edges:
    url = f"http://127.0.0.1:{port}"
    return Edges(url, url, url, url, url, shop_key="shop-key", ops_key="ops-key")


async def test_calls_one_after_another_reuse_one_connection(server: Server) -> None:
    async with KeepAliveClient(connections=10) as client:
        shop = Shop(edges(server.port), client)
        for _ in range(20):
            await shop.place_order(order_body(random.Random(1), "card"))

    assert len(server.requests) == 20
    assert server.connections == 1


async def test_an_order_goes_as_json_with_the_shop_key(server: Server) -> None:
    body = order_body(random.Random(2), "card")

    async with KeepAliveClient() as client:
        answer = await Shop(edges(server.port), client).place_order(body)

    assert answer == {"got": body}
    request = server.requests[0].decode().lower()
    assert request.startswith("post /v1/orders http/1.1")
    assert "content-type: application/json" in request
    assert "authorization: bearer shop-key" in request
    assert "idempotency-key: " in request


async def test_a_refusal_is_a_shop_error_with_its_status(server: Server) -> None:
    server.status = 422

    async with KeepAliveClient() as client:
        with pytest.raises(ShopError) as refused:
            await Shop(edges(server.port), client).place_order({"items": []})

    assert refused.value.status == 422


async def test_an_edge_that_does_not_answer_is_an_os_error() -> None:
    listening = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = listening.sockets[0].getsockname()[1]
    listening.close()
    await listening.wait_closed()

    async with KeepAliveClient() as client:
        with pytest.raises(OSError):
            await Shop(edges(port), client).place_order({"items": []})
