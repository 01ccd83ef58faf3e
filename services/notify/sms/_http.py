"""What both SMS providers' adapters share: one kept-alive HTTP client each, and how an
HTTP failure reads (transient or permanent, and when to come back)."""

from __future__ import annotations

import httpx

from services.notify.channels import ChannelError, limits_for
from shared import outbound

# After an unknown outcome (a timeout, a connection lost after the request went out) the
# provider may have taken the message: the next attempt looks for it before sending again.
UNKNOWN_OUTCOME = "outcome unknown"


class ProviderClient:
    """An httpx client of the adapter's own, as many kept-alive connections as the sender
    has sends in flight; `client` (tests) replaces it."""

    def __init__(
        self, *, timeout: float, concurrency: int, client: httpx.AsyncClient | None = None
    ) -> None:
        self.timeout = timeout
        self.limits = limits_for(concurrency)
        self.client = client
        self._owned: httpx.AsyncClient | None = None

    def http(self) -> httpx.AsyncClient:
        if self.client is not None:
            return self.client
        if self._owned is None or self._owned.is_closed:
            self._owned = httpx.AsyncClient(limits=self.limits, timeout=self.timeout)
        return self._owned

    async def aclose(self) -> None:
        owned, self._owned = self._owned, None
        if owned is not None:
            await owned.aclose()


def unreachable(provider: str, exc: httpx.HTTPError) -> ChannelError:
    """A call that got no answer: transient; whether the provider took it is unknown
    unless the connection never opened."""
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return ChannelError(f"{provider} unreachable: {exc!r}", permanent=False)
    return ChannelError(f"{provider} {UNKNOWN_OUTCOME}: {exc!r}", permanent=False)


def retry_after(response: httpx.Response) -> float | None:
    """`Retry-After` in seconds (either form RFC 9110 allows), None without one."""
    return outbound.retry_after(response.headers.get("Retry-After"))


def transient_status(status: int) -> bool:
    return status >= 500 or status in (408, 429)
