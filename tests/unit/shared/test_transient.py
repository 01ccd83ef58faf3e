"""What counts as the database being away: every background loop retries exactly these."""

from __future__ import annotations

import asyncpg
import pytest

from shared import consumer, db


@pytest.mark.parametrize(
    "exc",
    [
        asyncpg.CannotConnectNowError("the database system is starting up"),  # 57P03
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.CrashShutdownError("terminating connection due to crash of another process"),
        asyncpg.TooManyConnectionsError("sorry, too many clients already"),  # 53300
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.ConnectionFailureError("connection failure"),  # 08006
        asyncpg.PostgresConnectionError("connection exception"),  # 08000
        asyncpg.InterfaceError("connection is closed"),
        asyncpg.exceptions.InternalClientError(
            "cannot switch to state 12; another operation (2) is in progress"
        ),
        ConnectionRefusedError(111, "Connect call failed"),
        ConnectionResetError(104, "Connection reset by peer"),
        OSError(113, "No route to host"),
        TimeoutError(),
    ],
    ids=lambda exc: type(exc).__name__,
)
def test_connection_class_failures_are_transient(exc: BaseException) -> None:
    assert db.is_transient(exc)
    assert consumer.is_transient(exc)


@pytest.mark.parametrize(
    "exc",
    [
        asyncpg.UniqueViolationError("duplicate key"),
        asyncpg.UndefinedTableError("relation does not exist"),
        asyncpg.QueryCanceledError("canceling statement due to statement timeout"),
        ValueError("a bug"),
        KeyError("state"),
    ],
    ids=lambda exc: type(exc).__name__,
)
def test_everything_else_is_not(exc: BaseException) -> None:
    assert not db.is_transient(exc)
    assert not consumer.is_transient(exc)


def test_a_conflict_is_retried_by_the_consumer_but_is_no_outage() -> None:
    conflict = asyncpg.SerializationError("could not serialize access")
    assert consumer.is_transient(conflict)
    assert not db.is_transient(conflict)
