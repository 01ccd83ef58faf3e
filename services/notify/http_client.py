"""The HTTP client notify's SMS providers call through: one aiohttp session per provider,
kept alive, with as many connections as the sender has sends in flight.

aiohttp rather than httpx here: httpx's pool (httpcore 1.0) walks every connection and
every queued request on each request and each response closed, polling each idle socket,
which on the sender's passes of 20 cost about 1.6 ms of CPU per SMS
(`tests/bench/micro/notify_sms_client.py`). The answer is read whole and handed back as
an `Answer`, so the adapters never hold a connection, and tests hand in a `Send` instead
of a server.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp

# idle connections are dropped before the usual server keep-alive (uvicorn: 5 s) ends, so a
# call never meets one the server is closing
KEEPALIVE_SECONDS = 4.0


@dataclass(frozen=True)
class Answer:
    """A provider's answer, read whole: the status, the headers (any case) and the body."""

    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body as JSON (ValueError when it is not)."""
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), None)


class Unreachable(Exception):
    """No answer came. `sent`: whether the request may have reached the provider (False
    only when the connection never opened)."""

    def __init__(self, error: BaseException, *, sent: bool) -> None:
        super().__init__(repr(error))
        self.sent = sent


Send = Callable[..., Awaitable[Answer]]


class KeptAlive:
    """An aiohttp session of the caller's own, made on first use inside the running loop;
    `send` (tests) answers instead of the network."""

    def __init__(self, *, timeout: float, concurrency: int, send: Send | None = None) -> None:
        self.timeout = timeout
        self.concurrency = concurrency
        self._send = send
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self.concurrency, keepalive_timeout=KEEPALIVE_SECONDS
            )
            self._session = aiohttp.ClientSession(
                connector=connector, timeout=aiohttp.ClientTimeout(total=self.timeout)
            )
        return self._session

    async def request(
        self,
        method: str,
        url: str,
        *,
        auth: tuple[str, str] | None = None,
        **kwargs: Any,
    ) -> Answer:
        """Calls the provider (`kwargs`: `json`, `data` a form, `params`, `headers`;
        `auth` a user and password for HTTP Basic) and reads the answer whole; Unreachable
        when none comes."""
        if self._send is not None:
            return await self._send(method, url, auth=auth, **kwargs)
        if auth is not None:
            basic = {"Authorization": aiohttp.encode_basic_auth(*auth)}
            kwargs["headers"] = {**(kwargs.get("headers") or {}), **basic}
        try:
            async with self._open().request(method, url, **kwargs) as response:
                body = await response.read()
                return Answer(response.status, body, dict(response.headers))
        except aiohttp.ClientConnectorError as exc:
            raise Unreachable(exc, sent=False) from exc
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise Unreachable(exc, sent=True) from exc

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()
