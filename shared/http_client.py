"""The HTTP client every call to an outside party goes through (payment providers, couriers,
the SMS gateway and providers): one aiohttp session per caller, kept alive, with as many
connections as the caller has calls in flight.

aiohttp rather than httpx here: httpx's pool (httpcore 1.0) walks every connection and
every queued request on each request and each response closed, polling each idle socket,
which on notify's passes of 20 cost about 1.6 ms of CPU per SMS
(`tests/bench/micro/notify_sms_client.py`). The answer is read whole and handed back as
an `Answer`, so the adapters never hold a connection, and tests hand in a `Send` instead
of a server. The caller closes its client when the service stops.
"""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp

# idle connections are dropped before the usual server keep-alive (uvicorn: 5 s) ends, so a
# call never meets one the server is closing
KEEPALIVE_SECONDS = 4.0


@dataclass(frozen=True)
class Answer:
    """An outside party's answer, read whole: the status, the headers (any case) and the
    body."""

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
    """No answer came. `sent`: whether the request may have reached the other side (False
    only when the connection never opened); `timed_out`: no answer within the timeout."""

    def __init__(self, error: BaseException, *, sent: bool) -> None:
        super().__init__(repr(error))
        self.error = error
        self.sent = sent

    @property
    def timed_out(self) -> bool:
        return isinstance(self.error, TimeoutError)

    @property
    def kind(self) -> str:
        """What failed, as a short name for a reason (`TimeoutError`, `ClientConnectorError`)."""
        return type(self.error).__name__


Send = Callable[..., Awaitable[Answer]]


class KeptAlive:
    """An aiohttp session of the caller's own, made on first use inside the running loop;
    `tls` the TLS context when not the system's trust store; `send` (tests) answers instead
    of the network."""

    def __init__(
        self,
        *,
        timeout: float,
        concurrency: int,
        tls: ssl.SSLContext | None = None,
        send: Send | None = None,
    ) -> None:
        self.timeout = timeout
        self.concurrency = concurrency
        self._tls = tls
        self._send = send
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self.concurrency,
                keepalive_timeout=KEEPALIVE_SECONDS,
                ssl=True if self._tls is None else self._tls,
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
        """Calls the other side (`kwargs`: `json`, `data` a form or the body's bytes,
        `params`, `headers`; `auth` a user and password for HTTP Basic) and reads the answer
        whole; Unreachable when none comes."""
        if self._send is not None:
            return await self._send(method, url, auth=auth, **kwargs)
        if auth is not None:
            basic = {"Authorization": aiohttp.encode_basic_auth(*auth)}
            kwargs["headers"] = {**(kwargs.get("headers") or {}), **basic}
        try:
            async with self._open().request(method, url, **kwargs) as response:
                body = await response.read()
                return Answer(response.status, body, response.headers.copy())
        except aiohttp.ClientConnectorError as exc:
            raise Unreachable(exc, sent=False) from exc
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise Unreachable(exc, sent=True) from exc

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()


def retry_after(value: str | None) -> float | None:
    """An HTTP `Retry-After` (RFC 9110: delay seconds or an HTTP date) as seconds from now,
    None when absent or unreadable. A provider that says how long to wait is not asked
    again sooner."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - time.time())
