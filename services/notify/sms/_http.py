"""What both SMS providers' adapters share: one kept-alive HTTP client each
(shared/http_client.py), and how an HTTP failure reads (transient or permanent,
and when to come back)."""

from __future__ import annotations

from services.notify.channels import ChannelError
from shared import http_client
from shared.http_client import Answer, Unreachable

# After an unknown outcome (a timeout, a connection lost after the request went out) the
# provider may have taken the message: the next attempt looks for it before sending again.
UNKNOWN_OUTCOME = "outcome unknown"


def unreachable(provider: str, exc: Unreachable) -> ChannelError:
    """A call that got no answer: transient; whether the provider took it is unknown
    unless the connection never opened."""
    if not exc.sent:
        return ChannelError(f"{provider} unreachable: {exc}", permanent=False)
    return ChannelError(f"{provider} {UNKNOWN_OUTCOME}: {exc}", permanent=False)


def retry_after(answer: Answer) -> float | None:
    """`Retry-After` in seconds (either form RFC 9110 allows), None without one."""
    return http_client.retry_after(answer.header("Retry-After"))


def transient_status(status: int) -> bool:
    return status >= 500 or status in (408, 429)
