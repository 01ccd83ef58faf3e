"""Which database errors mean "the database cannot be reached now" rather than a bug.

The HTTP edge answers those with 503 and `Retry-After`, so a client knows a retry of
the same request can succeed; anything else stays a 500.
"""

from __future__ import annotations

import asyncpg

# SQLSTATEs of a connection that failed or a server that refuses work for now:
# class 08 (connection exception), 57P01-57P03 (admin/crash shutdown, cannot connect
# now) and 53300 (too many connections).
_UNAVAILABLE_STATES = frozenset({"57P01", "57P02", "57P03", "53300"})
_CLOSED_INTERFACE = ("connection is closed", "pool is closing", "pool is closed")


def database_unavailable(exc: BaseException) -> bool:
    """True when `exc` (or what it was raised `from`) says the database is out of reach:
    refused or timed-out connects, dropped connections, shutdowns, no free slots."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _unavailable(current):
            return True
        current = current.__cause__
    return False


def _unavailable(exc: BaseException) -> bool:
    if isinstance(exc, asyncpg.PostgresError):
        state = getattr(exc, "sqlstate", None) or ""
        return state.startswith("08") or state in _UNAVAILABLE_STATES
    if isinstance(exc, asyncpg.InterfaceError):
        return any(text in str(exc) for text in _CLOSED_INTERFACE)
    # refused, reset, unreachable, and connect or pool-acquire timeouts (TimeoutError)
    return isinstance(exc, OSError | ConnectionError)
