"""Which errors mean "the database is out of reach" (503, retry) and which stay bugs (500)."""

from __future__ import annotations

import asyncpg
import pytest

from shared.db import is_transient as database_unavailable


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "refused"),
        TimeoutError(),
        asyncpg.ConnectionDoesNotExistError("closed in the middle of operation"),
        asyncpg.CannotConnectNowError("the database system is starting up"),
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.TooManyConnectionsError("sorry, too many clients already"),
        asyncpg.InterfaceError("cannot perform operation: connection is closed"),
    ],
)
def test_connection_class_errors_mean_the_database_is_unavailable(error: Exception) -> None:
    assert database_unavailable(error)


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.UniqueViolationError("duplicate key"),
        asyncpg.NumericValueOutOfRangeError("integer out of range"),
        ValueError("bug"),
    ],
)
def test_other_errors_are_not_an_outage(error: Exception) -> None:
    assert not database_unavailable(error)


def test_an_error_raised_from_a_dropped_connection_is_an_outage() -> None:
    try:
        try:
            raise ConnectionResetError(104, "reset")
        except ConnectionResetError as exc:
            raise RuntimeError("query failed") from exc
    except RuntimeError as wrapped:
        assert database_unavailable(wrapped)
